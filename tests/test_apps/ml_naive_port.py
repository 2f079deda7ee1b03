"""A naive port of the worked example: /predict validates with a pydantic model, so a missing
field gets FastAPI's 422 instead of legacy's 400. The contract run must catch and name it."""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel

from migrated.app import app as faithful
from migrated.app import lifespan
from migrated.deps import Claims
from migrated.domain import MODEL_VERSION, predict_one

app = FastAPI(lifespan=lifespan)


class PredictBody(BaseModel):
    features: list[float]


@app.post("/predict")
async def predict(body: PredictBody, _claims: Claims) -> dict[str, object]:
    return {
        "prediction": predict_one(body.features),
        "cached": False,
        "model_version": MODEL_VERSION,
    }


app.router.routes.extend(
    r for r in faithful.router.routes if getattr(r, "path", "") not in ("/predict", "/openapi.json")
)
