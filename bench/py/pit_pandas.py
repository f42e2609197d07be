"""Reference (b) of the pit suite: the training frame with pandas.merge_asof,
the way pandas users build point-in-time training data: sort both sides by
time, merge_asof by the entity key, strictly before the label time
(allow_exact_matches=False) and within the ttl (tolerance, inclusive like
fti's event_time >= t - ttl), then the ODT as a vectorised column.

Usage: python3 pit_pandas.py '{"features": ..., "planned": ..., "ttlDays": 30, "warmup": 1, "runs": 3, "sampleMod": 100, "sampleOut": ...}'
"""

import json
import resource
import sys
import time

import pandas as pd

FEATURES = ["pace", "climb", "tss", "distance", "pace_28d", "pace_sd_28d", "km_7d", "longest_90d"]


def cpu_ms():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return (r.ru_utime + r.ru_stime) * 1000.0


def read(args):
    feats = pd.read_csv(
        args["features"],
        usecols=["athlete_id", "event_time"] + FEATURES,
        dtype={c: "float64" for c in FEATURES},
        engine="c",
    )
    feats["event_time"] = pd.to_datetime(feats["event_time"], format="%Y-%m-%d %H:%M:%S")
    planned = pd.read_csv(
        args["planned"],
        usecols=["athlete_id", "planned_at", "distance_km", "finish_time_s"],
        dtype={"distance_km": "float64", "finish_time_s": "float64"},
        engine="c",
    )
    planned["planned_at"] = pd.to_datetime(planned["planned_at"], format="%Y-%m-%d %H:%M:%S")
    return feats, planned


def compute(feats, planned, ttl):
    spine = planned.sort_values("planned_at", kind="stable")
    right = feats.sort_values("event_time", kind="stable")
    out = pd.merge_asof(
        spine,
        right,
        left_on="planned_at",
        right_on="event_time",
        by="athlete_id",
        direction="backward",
        allow_exact_matches=False,
        tolerance=ttl,
    )
    out["expected_time_s"] = out["distance_km"] * out["pace_28d"] * 60
    return out


def main():
    args = json.loads(sys.argv[1])
    ttl = pd.Timedelta(days=args["ttlDays"])
    c0, t0 = cpu_ms(), time.perf_counter()
    feats, planned = read(args)
    read_ms = (time.perf_counter() - t0) * 1000
    read_cpu = cpu_ms() - c0

    ms, cpu = [], []
    out = None
    warmup = args.get("warmup", 1)
    for i in range(warmup + args["runs"]):
        out = None
        c0, t0 = cpu_ms(), time.perf_counter()
        out = compute(feats, planned, ttl)
        if i >= warmup:
            ms.append((time.perf_counter() - t0) * 1000)
            cpu.append(cpu_ms() - c0)

    if args.get("sampleOut"):
        mod = int(args["sampleMod"])
        keep = out["athlete_id"].str.slice(1).astype("int64") % mod == 1 % mod
        cols = ["athlete_id", "planned_at", "finish_time_s"] + FEATURES + ["expected_time_s"]
        out.loc[keep, cols].to_csv(args["sampleOut"], index=False, date_format="%Y-%m-%d %H:%M:%S", float_format="%.17g")

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print("@@RESULT " + json.dumps({"ms": ms, "cpuMs": cpu, "readMs": read_ms, "readCpuMs": read_cpu, "rssKB": rss, "rows": int(len(out))}))


if __name__ == "__main__":
    main()
