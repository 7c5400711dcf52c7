"""The bodies of the native /totp routes (api/totp.py), as pydantic models: they validate the
requests and document every answer in /openapi.json."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

FACTOR_ID = r"^YF[0-9a-f]{32}$"
TOTP_CODE = r"^[0-9]{3,8}$"
# A TOTP code, or a recovery code (`abcde-fghjk`, dash and case optional).
CHECK_CODE = r"^([0-9]{3,8}|[A-Za-z0-9]{5}[- ]?[A-Za-z0-9]{5})$"
Identity = Annotated[StrictStr, Field(min_length=1, max_length=64, description="Your user's id (no PII needed)")]
Label = Annotated[StrictStr, Field(min_length=1, max_length=64)]


class TotpFactorCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    identity: Identity
    label: Label | None = Field(None, description="Account name the app shows (default: the identity)")
    issuer: Label | None = Field(None, description="Issuer the app shows (default: OTP_APP_NAME)")
    digits: Annotated[StrictInt, Field(ge=3, le=8)] = 6
    period: Annotated[StrictInt, Field(ge=20, le=60, description="Seconds per code")] = 30
    algorithm: Literal["sha1", "sha256", "sha512"] = "sha1"
    skew: Annotated[StrictInt, Field(ge=0, le=2, description="Steps of drift accepted (default TOTP_SKEW)")] | None = (
        None
    )


class TotpFactor(BaseModel):
    id: Annotated[str, Field(pattern=FACTOR_ID)]
    identity: str
    label: str
    issuer: str
    status: Literal["unverified", "verified"]
    digits: int
    period: int
    algorithm: Literal["sha1", "sha256", "sha512"]
    skew: int
    createdAt: datetime
    updatedAt: datetime


class TotpEnrolment(TotpFactor):
    secret: Annotated[str, Field(description="Base32; shown in this answer only")]
    uri: Annotated[str, Field(description="otpauth:// Key URI; shown in this answer only")]
    qrSvg: Annotated[str, Field(description="The URI as a QR code (an SVG document); shown in this answer only")]


class TotpFactorList(BaseModel):
    factors: list[TotpFactor]


class TotpFactorQuery(BaseModel):
    identity: Identity


class TotpVerifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Annotated[StrictStr, Field(pattern=TOTP_CODE)]


class TotpCheckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    identity: Identity
    code: Annotated[StrictStr, Field(pattern=CHECK_CODE, description="A TOTP code or a recovery code")]


class TotpCheckResponse(BaseModel):
    status: Literal["approved", "denied"]
    factorId: Annotated[str | None, Field(description="The factor whose code it was; null for a recovery code")]
    recoveryCode: Annotated[bool, Field(description="Approved by a recovery code (now spent)")]


class TotpRecoveryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    identity: Identity


class TotpRecoveryCodes(BaseModel):
    identity: str
    codes: Annotated[list[str], Field(description="Ten single-use codes; shown in this answer only")]
