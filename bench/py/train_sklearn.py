"""Reference of the train suite: scikit-learn's HistGradientBoostingRegressor
(or, with "task": "binary_classification", HistGradientBoostingClassifier on
the label y > "threshold", scored by test AUC; with "multiclass_classification",
the class = how many of "cuts" are below y, scored by test accuracy; else test MAE) with fti's hyperparameters (trees -> max_iter, depth -> max_depth with no
leaf cap, min_leaf -> min_samples_leaf, bins -> max_bins, l2 ->
l2_regularization, no early stopping), fitted on the same float32 matrix
(NaN = missing), as a scikit-learn user runs it (OpenMP threads: all cores
unless OMP_NUM_THREADS is set).

Usage: python3 train_sklearn.py '{"xTrain": ..., "yTrain": ..., "xTest": ..., "yTest": ..., "d": 12, "trees": 200, ...}'
"""

import json
import resource
import sys
import time

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import roc_auc_score


def cpu_ms():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return (r.ru_utime + r.ru_stime) * 1000.0


def main():
    a = json.loads(sys.argv[1])
    d = a["d"]
    X = np.fromfile(a["xTrain"], dtype="<f4").reshape(-1, d)
    y = np.fromfile(a["yTrain"], dtype="<f8")
    Xt = np.fromfile(a["xTest"], dtype="<f4").reshape(-1, d)
    yt = np.fromfile(a["yTest"], dtype="<f8")

    binary = a.get("task") == "binary_classification"
    multi = a.get("task") == "multiclass_classification"
    if binary:
        y = (y > a["threshold"]).astype(np.float64)
        yt = (yt > a["threshold"]).astype(np.float64)
    if multi:
        cuts = np.array(a["cuts"])
        y = (y[:, None] > cuts).sum(axis=1)
        yt = (yt[:, None] > cuts).sum(axis=1)
    ms, cpu, score = [], [], None
    for _ in range(a.get("runs", 1)):
        Model = HistGradientBoostingClassifier if binary or multi else HistGradientBoostingRegressor
        model = Model(
            loss="log_loss" if binary or multi else "squared_error",
            learning_rate=a["learningRate"],
            max_iter=a["trees"],
            max_depth=a["depth"],
            max_leaf_nodes=None,
            min_samples_leaf=a["minLeaf"],
            l2_regularization=a["l2"],
            max_bins=a["bins"],
            early_stopping=False,
            random_state=a.get("randomState", 0),
        )
        # timed: the fit and the prediction of the test rows (fti's side times the same)
        c0, t0 = cpu_ms(), time.perf_counter()
        model.fit(X, y)
        pred = model.predict_proba(Xt)[:, 1] if binary else model.predict_proba(Xt) if multi else model.predict(Xt)
        ms.append((time.perf_counter() - t0) * 1000)
        cpu.append(cpu_ms() - c0)
        if binary:
            score = float(roc_auc_score(yt, pred))
        elif multi:
            score = float(np.mean(pred.argmax(axis=1) == yt))
        else:
            score = float(np.mean(np.abs(pred - yt)))

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print("@@RESULT " + json.dumps({"ms": ms, "cpuMs": cpu, "rssKB": rss, "score": score, "trees": model.n_iter_}))


if __name__ == "__main__":
    main()
