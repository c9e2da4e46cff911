"""The threat model a run is reviewed against: who attacks, with what access, over which data.

It is the optional ``threat_model:`` section of a run spec, for example::

    threat_model:
      adversary: external             # honest-but-curious | malicious-participant | external
      access: [top1, scores]          # top1 | scores | weights | snapshots
      data: [pii]                     # pii | health | financial  ([] = not about people)
      regulations: [gdpr, ccpa]       # gdpr | hipaa | ccpa
      release: partners               # internal | partners | public

:mod:`privml.governance.requirements` turns it into requirements (mandatory mitigations, maximum
ε, attacks to run, attack-success limits).

No default threat model
-----------------------
When a spec has no ``threat_model:`` section there is **no privacy review**: nothing is derived,
nothing is refused, and the report says plainly that no review was made. A default would assert
facts about the data and the release that the run owner never stated, and a reviewer could take
an assumed threat model for a decision. A review is only worth signing when someone wrote down
what it is reviewed against. For the same reason every field of the section is required except
``regulations``, which defaults to ``[]`` (none stated); ``data: []`` must be written out to say
the data is not about people.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Adversary = Literal["honest-but-curious", "malicious-participant", "external"]
Access = Literal["top1", "scores", "weights", "snapshots"]
DataCategory = Literal["pii", "health", "financial"]
Regulation = Literal["gdpr", "hipaa", "ccpa"]
Release = Literal["internal", "partners", "public"]

ADVERSARY_TEXT = {
    "honest-but-curious": "honest-but-curious insider (follows the process, learns what it sees)",
    "malicious-participant": "malicious participant (can contribute or plant training data)",
    "external": "external party (only what the release exposes)",
}
ACCESS_TEXT = {
    "top1": "top-1 predictions",
    "scores": "scores (probabilities / losses)",
    "weights": "the model weights",
    "snapshots": "several model snapshots",
}
DATA_TEXT = {"pii": "personal data (PII)", "health": "health data", "financial": "financial data"}
REGULATION_TEXT = {"gdpr": "GDPR", "hipaa": "HIPAA", "ccpa": "CCPA"}
RELEASE_TEXT = {
    "internal": "internal use only",
    "partners": "released to partners",
    "public": "released to the public",
}


class ThreatModel(BaseModel):
    """Who the adversary is, what it can see, what the data is, which law applies, who gets it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    adversary: Adversary
    access: list[Access] = Field(
        min_length=1, description="what the adversary gets from the model (at least one)"
    )
    data: list[DataCategory] = Field(description="data categories; [] = not about people")
    regulations: list[Regulation] = Field(default_factory=list)
    release: Release

    @field_validator("access", "data", "regulations")
    @classmethod
    def _unique_in_order(cls, value: list[str]) -> list[str]:
        """Drop repeats so requirements and the report list each item once."""
        return list(dict.fromkeys(value))

    @property
    def about_people(self) -> bool:
        """Every data category privml knows (PII, health, financial) describes people."""
        return bool(self.data)

    def summary(self) -> dict[str, str]:
        """Plain-language lines for the report, one per field."""
        return {
            "adversary": ADVERSARY_TEXT[self.adversary],
            "access": ", ".join(ACCESS_TEXT[a] for a in self.access),
            "data": ", ".join(DATA_TEXT[d] for d in self.data) or "not about people",
            "regulations": ", ".join(REGULATION_TEXT[r] for r in self.regulations) or "none stated",
            "release": RELEASE_TEXT[self.release],
        }
