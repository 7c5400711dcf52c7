"""Twilio Verify v2 JSON for Entities, TOTP Factors and Challenges (CHANNELS-AND-MESSAGING.md §4),
in Twilio's field names and the date format its SDKs parse."""

from typing import Any

from otpservice.api.twilio_render import twilio_date
from otpservice.totp.ports import ChallengeRecord, EntityRecord, FactorRecord


class Where:
    """Who asks and where the resources live: `account_sid`, the Service, the base URL."""

    def __init__(self, account_sid: str, service_sid: str, base_url: str, service_name: str) -> None:
        self.account_sid, self.service_sid, self.service_name = account_sid, service_sid, service_name
        self.entities = f"{base_url}/v2/Services/{service_sid}/Entities"


def entity_json(entity: EntityRecord, where: Where) -> dict[str, Any]:
    url = f"{where.entities}/{entity.identity}"
    return {
        "sid": entity.sid,
        "identity": entity.identity,
        "account_sid": where.account_sid,
        "service_sid": where.service_sid,
        "date_created": twilio_date(entity.created_at.timestamp()),
        "date_updated": twilio_date(entity.updated_at.timestamp()),
        "url": url,
        "links": {"factors": f"{url}/Factors", "new_factors": f"{url}/Factors", "challenges": f"{url}/Challenges"},
    }


def factor_json(factor: FactorRecord, where: Where, binding: dict[str, str] | None = None) -> dict[str, Any]:
    """`binding` (secret and URI) only in the answer to the creation."""
    body: dict[str, Any] = {
        "sid": factor.sid,
        "account_sid": where.account_sid,
        "service_sid": where.service_sid,
        "entity_sid": factor.entity_sid,
        "identity": factor.identity,
        "date_created": twilio_date(factor.created_at.timestamp()),
        "date_updated": twilio_date(factor.updated_at.timestamp()),
        "friendly_name": factor.friendly_name,
        "status": factor.status,
        "factor_type": "totp",
        "config": {
            "alg": factor.algorithm,
            "skew": factor.skew,
            "code_length": factor.digits,
            "time_step": factor.period,
        },
        "metadata": None,
        "url": f"{where.entities}/{factor.identity}/Factors/{factor.sid}",
    }
    if binding is not None:
        body |= {"binding": binding, "options": None}
    return body


def challenge_json(challenge: ChallengeRecord, where: Where) -> dict[str, Any]:
    url = f"{where.entities}/{challenge.identity}/Challenges/{challenge.sid}"
    responded = challenge.responded_at
    return {
        "sid": challenge.sid,
        "account_sid": where.account_sid,
        "service_sid": where.service_sid,
        "entity_sid": challenge.entity_sid,
        "identity": challenge.identity,
        "factor_sid": challenge.factor_sid,
        "date_created": twilio_date(challenge.created_at.timestamp()),
        "date_updated": twilio_date(challenge.updated_at.timestamp()),
        "date_responded": twilio_date(responded.timestamp()) if responded is not None else None,
        "expiration_date": twilio_date(challenge.expires_at.timestamp()),
        "status": challenge.status,
        "responded_reason": challenge.responded_reason,
        "details": None,
        "hidden_details": None,
        "metadata": None,
        "factor_type": "totp",
        "url": url,
        "links": {"notifications": f"{url}/Notifications"},
    }


def page_json(key: str, records: list[dict[str, Any]], url: str) -> dict[str, Any]:
    """One page holding every record (the SDK follows `next_page_url`: there is none)."""
    return {
        key: records,
        "meta": {
            "page": 0,
            "page_size": max(len(records), 1),
            "first_page_url": url,
            "previous_page_url": None,
            "url": url,
            "next_page_url": None,
            "key": key,
        },
    }
