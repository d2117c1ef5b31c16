"""The demo's customer-churn world: a seeded synthetic training set, a small scikit-learn model, and live traffic
that can drift the way real churn data does (prices go up, a contract type is withdrawn)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

NUMERIC = ["tenure", "monthly_charges", "total_charges", "support_calls"]
CATEGORICAL = ["contract", "payment_method", "internet_service"]
FEATURES = NUMERIC + CATEGORICAL
OUTPUT = "churn_probability"
LABEL = "churn"
CONTRACTS = (["month-to-month", "one-year", "two-year"], [0.55, 0.25, 0.20])
PAYMENTS = (["electronic-check", "mailed-check", "bank-transfer", "credit-card"], [0.34, 0.23, 0.22, 0.21])
INTERNET = (["dsl", "fiber", "none"], [0.35, 0.45, 0.20])


@dataclass(frozen=True)
class Drift:
    """How far live traffic has moved from the training data: 0 = none, 1 = the full shift."""

    amount: float = 0.0

    def apply(self, frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        if self.amount <= 0:
            return frame
        frame = frame.copy()
        frame["tenure"] = (frame["tenure"] * (1 - 0.5 * self.amount)).round(0)  # a wave of new customers
        frame["monthly_charges"] = (frame["monthly_charges"] * (1 + 0.2 * self.amount)).round(2)  # prices up 20%
        frame["total_charges"] = frame["tenure"] * frame["monthly_charges"]
        # the two-year contract is withdrawn: its customers move to month-to-month
        withdrawn = (frame["contract"] == "two-year") & (rng.random(len(frame)) < self.amount)
        frame.loc[withdrawn, "contract"] = "month-to-month"
        return frame


NO_DRIFT = Drift()


def customers(n: int, rng: np.random.Generator, drift: Drift = NO_DRIFT) -> pd.DataFrame:
    """``n`` synthetic customers with the churn label."""
    tenure = np.clip(rng.gamma(2.0, 12.0, n).round(0), 0, 72)
    monthly = np.clip(rng.normal(70.0, 20.0, n), 18.0, 120.0).round(2)
    frame = pd.DataFrame(
        {
            "tenure": tenure,
            "monthly_charges": monthly,
            "total_charges": (tenure * monthly).round(2),
            "support_calls": rng.poisson(1.5, n).astype(float),
            "contract": rng.choice(CONTRACTS[0], n, p=CONTRACTS[1]),
            "payment_method": rng.choice(PAYMENTS[0], n, p=PAYMENTS[1]),
            "internet_service": rng.choice(INTERNET[0], n, p=INTERNET[1]),
        }
    )
    frame = drift.apply(frame, rng)
    logit = (
        -1.0
        + 0.03 * (frame["monthly_charges"] - 70)
        - 0.05 * frame["tenure"]
        + 0.35 * frame["support_calls"]
        + 1.2 * (frame["contract"] == "month-to-month")
        - 0.8 * (frame["contract"] == "two-year")
        + 0.4 * (frame["payment_method"] == "electronic-check")
    )
    frame[LABEL] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame


def train(frame: pd.DataFrame) -> Any:
    """A small scikit-learn pipeline: one-hot categoricals, scaled numerics, logistic regression."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    encode = ColumnTransformer(
        [("numeric", StandardScaler(), NUMERIC), ("categorical", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL)]
    )
    model = make_pipeline(encode, LogisticRegression(max_iter=1000))
    model.fit(frame[FEATURES], frame[LABEL])
    return model


def predict(model: Any, frame: pd.DataFrame) -> np.ndarray[Any, Any]:
    probabilities: np.ndarray[Any, Any] = model.predict_proba(frame[FEATURES])[:, 1]
    return probabilities.round(4)


def training_set(n: int, seed: int) -> tuple[pd.DataFrame, Any]:
    """The training data (features, label and the model's own output on it) and the trained model."""
    frame = customers(n, np.random.default_rng(seed))
    model = train(frame)
    frame[OUTPUT] = predict(model, frame)
    return frame, model
