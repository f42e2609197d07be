"""Reference (b) of the features suite: the bench group in pandas, written the
way a competent pandas user writes it: read only the needed columns with
compact dtypes, sort by (athlete, time), row features vectorised, then
groupby + time-based rolling windows.

Frames: rolling('28D', on='started_at', closed='right') is (t - 28d, t], as in
fti. (pandas does not give later same-instant peers to earlier rows; the
check asserts the data has none.)

Usage: python3 features_pandas.py '{"csv": ..., "warmup": 1, "runs": 3, "sampleMod": 100, "sampleOut": ...}'
Prints one line: @@RESULT {"ms": [...], "cpuMs": [...], "readMs": ..., "rssKB": ...}
"""

import json
import resource
import sys
import time

import pandas as pd


def cpu_ms():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return (r.ru_utime + r.ru_stime) * 1000.0


def read(path):
    df = pd.read_csv(
        path,
        usecols=["activity_id", "athlete_id", "started_at", "distance_km", "elapsed_time_s", "elevation_gain_m"],
        dtype={"athlete_id": "category", "distance_km": "float64", "elapsed_time_s": "float64", "elevation_gain_m": "float64"},
        engine="c",
    )
    df["started_at"] = pd.to_datetime(df["started_at"], format="%Y-%m-%d %H:%M:%S")
    return df


def compute(df):
    df = df.sort_values(["athlete_id", "started_at"], kind="stable", ignore_index=True)
    out = df[["athlete_id", "started_at", "activity_id"]].copy()
    out["pace"] = df["elapsed_time_s"] / 60 / df["distance_km"]
    out["climb"] = df["elevation_gain_m"] / df["distance_km"]
    out["tss"] = df["elapsed_time_s"] / 3600 * (5 / out["pace"]) ** 2 * 100
    out["distance"] = df["distance_km"]

    # The frame is sorted by athlete, then time: the groupby-rolling results come
    # out in the same order (groups in order of appearance, rows in order).
    g = out.groupby("athlete_id", sort=False, observed=True)
    r28 = g.rolling("28D", on="started_at", closed="right")["pace"]
    out["pace_28d"] = r28.mean().to_numpy()
    out["pace_sd_28d"] = r28.std().to_numpy()
    out["km_7d"] = g.rolling("7D", on="started_at", closed="right")["distance"].sum().to_numpy()
    out["longest_90d"] = g.rolling("90D", on="started_at", closed="right")["distance"].max().to_numpy()
    return out


def main():
    args = json.loads(sys.argv[1])
    c0, t0 = cpu_ms(), time.perf_counter()
    df = read(args["csv"])
    read_ms = (time.perf_counter() - t0) * 1000
    read_cpu = cpu_ms() - c0

    ms, cpu = [], []
    out = None
    for i in range(args.get("warmup", 1) + args["runs"]):
        out = None
        c0, t0 = cpu_ms(), time.perf_counter()
        out = compute(df)
        if i >= args.get("warmup", 1):
            ms.append((time.perf_counter() - t0) * 1000)
            cpu.append(cpu_ms() - c0)

    # A sample of athletes for the correctness check (untimed).
    if args.get("sampleOut"):
        mod = int(args["sampleMod"])
        ids = out["athlete_id"].astype(str)
        keep = ids.str.slice(1).astype("int64") % mod == 1 % mod
        s = out[keep.to_numpy()].rename(columns={"started_at": "event_time"})
        s.to_csv(args["sampleOut"], index=False, date_format="%Y-%m-%d %H:%M:%S", float_format="%.17g")

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print("@@RESULT " + json.dumps({"ms": ms, "cpuMs": cpu, "readMs": read_ms, "readCpuMs": read_cpu, "rssKB": rss, "rows": int(len(out))}))


if __name__ == "__main__":
    main()
