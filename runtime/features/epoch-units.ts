// Timestamp formats that are numbers since 1970-01-01 00:00 UTC rather than
// strptime patterns (`format "epoch_millis"`), with the microseconds in one
// unit. A fraction is kept (to the microsecond). The checker admits these
// names; validation.ts reads them. A leaf module: both import it.

export const EPOCH_UNITS: Readonly<Record<string, number>> = { epoch_seconds: 1_000_000, epoch_millis: 1_000, epoch_micros: 1 };
