"""The encrypted-computation spec (``task: encrypted``): HE inference and MPC training on Adult.

``he`` serves privml's HE-friendly models (logistic regression, a polynomial MLP) over loopback
HTTP and predicts encrypted test rows through the real client; ``mpc`` runs three (or more)
party processes that train logistic regression jointly, next to the same recipe in plaintext.
Either section may be left out.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from privml.pipeline.spec import StrictModel


class HESection(StrictModel):
    models: list[Literal["logreg", "mlp"]] = Field(["logreg", "mlp"], min_length=1)
    test_rows: int | None = Field(
        None, ge=1, description="first rows of the Adult test split to predict (default: all)"
    )
    train_rows: int | None = Field(None, ge=100, description="training rows (default: all)")


class MPCRecipe(StrictModel):
    epochs: int = Field(5, ge=1)
    learning_rate: float = Field(1.0, gt=0)
    batch_size: int = Field(256, ge=1)


class MPCSection(StrictModel):
    parties: int = Field(3, ge=3, description="parties (honest majority needs at least 3)")
    rows_per_party: int = Field(1000, ge=10, description="consecutive Adult training rows each")
    recipe: MPCRecipe = MPCRecipe()
    timeout_s: float = Field(120, gt=0, description="how long a party waits for the others")


class EncryptedSpec(StrictModel):
    task: Literal["encrypted"] = "encrypted"
    name: str = "privml-encrypted"
    seed: int = 0
    he: HESection | None = HESection()
    mpc: MPCSection | None = MPCSection()

    @model_validator(mode="after")
    def _something(self) -> EncryptedSpec:
        if self.he is None and self.mpc is None:
            raise ValueError("the spec asks for neither he nor mpc")
        return self
