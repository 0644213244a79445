#!/usr/bin/python3
"""Trains the sample models shipped in models/ on synthetic data and packs each one the way
SageMaker's XGBoost container expects: a gzip'd tar holding `xgboost-model` (JSON format).

Run with Debian's python3-xgboost:  /usr/bin/python3 scripts/make-sample-models.py [out_dir]
Output is byte-for-byte reproducible (fixed seeds, one thread, zero timestamps).
"""
import gzip
import io
import json
import os
import sys
import tarfile

import numpy as np
import xgboost as xgb


def pack(out_dir, name, booster):
    model_json = bytearray(booster.save_raw("json"))
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo("xgboost-model")
        info.size = len(model_json)
        info.mtime = 0
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(model_json))
    path = os.path.join(out_dir, f"{name}.tar.gz")
    with open(path, "wb") as out:
        with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, filename="") as gz:
            gz.write(tar_bytes.getvalue())
    print(f"wrote {path}")


def train(params, x, y, rounds):
    params = {"max_depth": 4, "eta": 0.3, "nthread": 1, "seed": 0, **params}
    return xgb.train(params, xgb.DMatrix(x, label=y), num_boost_round=rounds)


def churn(rng):
    """binary:logistic. Features: tenure_months, monthly_charges, support_calls, has_contract,
    paperless_billing, senior_citizen. Output: probability of churn."""
    n = 4000
    tenure = rng.integers(0, 72, n)
    charges = rng.uniform(18, 120, n).round(1)
    calls = rng.poisson(1.5, n)
    contract = rng.integers(0, 2, n)
    paperless = rng.integers(0, 2, n)
    senior = (rng.random(n) < 0.16).astype(int)
    score = -1.0 - 0.04 * tenure + 0.02 * charges + 0.45 * calls - 1.2 * contract + 0.3 * paperless + 0.4 * senior
    y = (rng.random(n) < 1 / (1 + np.exp(-score))).astype(int)
    x = np.column_stack([tenure, charges, calls, contract, paperless, senior]).astype(float)
    return train({"objective": "binary:logistic"}, x, y, 20)


def iris(rng):
    """multi:softprob, 3 classes (setosa, versicolor, virginica). Features: sepal_length,
    sepal_width, petal_length, petal_width (cm). Output: three class probabilities."""
    centres = np.array([[5.0, 3.4, 1.5, 0.25], [5.9, 2.8, 4.3, 1.3], [6.6, 3.0, 5.6, 2.0]])
    spread = np.array([0.35, 0.35, 0.45, 0.2])
    y = np.repeat([0, 1, 2], 300)
    x = centres[y] + rng.normal(size=(900, 4)) * spread
    return train({"objective": "multi:softprob", "num_class": 3, "max_depth": 3}, x, y, 10)


def house_prices(rng):
    """reg:squarederror. Features: area_sqft, bedrooms, bathrooms, age_years, garage (0/1).
    Output: price in thousands of dollars."""
    n = 4000
    area = rng.uniform(500, 4000, n).round()
    bedrooms = rng.integers(1, 6, n)
    bathrooms = rng.integers(1, 4, n)
    age = rng.integers(0, 80, n)
    garage = rng.integers(0, 2, n)
    price = 40 + 0.12 * area + 8 * bedrooms + 12 * bathrooms - 0.6 * age + 15 * garage + rng.normal(0, 15, n)
    x = np.column_stack([area, bedrooms, bathrooms, age, garage]).astype(float)
    return train({"objective": "reg:squarederror"}, x, price, 20)


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models")
    os.makedirs(out_dir, exist_ok=True)
    pack(out_dir, "churn", churn(np.random.default_rng(1)))
    pack(out_dir, "iris", iris(np.random.default_rng(2)))
    pack(out_dir, "house-prices", house_prices(np.random.default_rng(3)))


if __name__ == "__main__":
    main()
