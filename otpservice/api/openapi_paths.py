"""The default OpenAPI path items and schemas: operations, /send, /verify/*, messages, webhooks."""

from typing import Any

from pydantic import BaseModel

from otpservice.api.openapi import RATE_LIMIT_HEADERS, Schema, errors, json_content, model_schemas, ref, response
from otpservice.api.send import SendRequest

E164: Schema = {"type": "string", "description": "E.164 phone number", "examples": ["+393331234567"]}
ISO_TIME: Schema = {"type": "string", "format": "date-time"}
VERIFICATION_ID: Schema = {"type": "string", "pattern": "^VE[0-9a-f]{32}$"}
VERIFICATION_STATES = ["pending", "approved", "canceled", "expired", "failed", "max_attempts_reached"]
MESSAGE_STATES = ["queued", "sending", "sent", "delivered", "undelivered", "failed", "canceled"]
SEND_ERRORS = (400, 402, 403, 429, 500, 502, 504)


def _obj(required: list[str], properties: Schema, **extra: Any) -> Schema:
    return {"type": "object", "required": required, "properties": properties, **extra}


def _verification(extra: Schema | None = None) -> Schema:
    properties: Schema = {
        "id": VERIFICATION_ID, "to": E164, "channel": {"type": "string", "enum": ["sms"]},
        "status": {"type": "string", "enum": VERIFICATION_STATES},
        "expiresAt": ISO_TIME, "sendAttempts": {"type": "integer", "minimum": 0},
        "canResendAt": ISO_TIME, "checkAttemptsLeft": {"type": "integer", "minimum": 0},
    }
    return _obj(list(properties), {**properties, **(extra or {})})


def _verify_requests() -> dict[str, Schema]:
    """From the pydantic models of api/verify.py when it has them, else as SPEC section 2 says."""
    from otpservice.api import verify

    start, check = getattr(verify, "StartRequest", None), getattr(verify, "CheckRequest", None)
    exactly_one = {"oneOf": [{"required": ["to"]}, {"required": ["id"]}],
                   "description": "Exactly one of `to` and `id`"}
    if all(isinstance(model, type) and issubclass(model, BaseModel) for model in (start, check)):
        assert start is not None and check is not None
        return {**model_schemas(start, check), "VerifyStartRequest": ref(start.__name__),
                "VerifyCheckRequest": {"allOf": [ref(check.__name__), exactly_one]}}
    code = {"type": "string", "pattern": "^[0-9]{4,10}$"}
    return {
        "VerifyStartRequest": _obj(["to"], {
            "to": E164, "channel": {"type": "string", "enum": ["sms"], "default": "sms"},
            "locale": {"type": "string", "examples": ["en", "it"]}, "appHash": {"type": "string"},
        }, additionalProperties=False),
        "VerifyCheckRequest": {"allOf": [_obj(["code"], {"to": E164, "id": {"type": "string"}, "code": code},
                                              additionalProperties=False), exactly_one]},
    }


def default_schemas() -> dict[str, Schema]:
    nullable_time = {"type": ["string", "null"], "format": "date-time"}
    nullable_text = {"type": ["string", "null"]}
    return {
        **model_schemas(SendRequest),
        "SendResponse": _obj(["dateEvent", "numSegments", "sid", "status"], {
            "dateEvent": ISO_TIME,
            "numSegments": {"type": "string", "pattern": "^[0-9]+$"},
            "sid": {"type": "string", "description": "The provider's message id, or ours when queued"},
            "status": {"type": "string", "enum": ["sent", "queued"]},
        }),
        **_verify_requests(),
        "Verification": _verification(),
        "VerificationDetail": _verification({
            "createdAt": ISO_TIME, "approvedAt": nullable_time,
            "deliveryStatus": {"type": ["string", "null"], "description": "State of the last SMS"},
        }),
        "VerifyCheckResponse": _obj(["id", "to", "status", "valid", "checkAttemptsLeft"], {
            "id": VERIFICATION_ID, "to": E164,
            "status": {"type": "string", "enum": ["approved", "pending", "max_attempts_reached"]},
            "valid": {"type": "boolean"}, "checkAttemptsLeft": {"type": "integer", "minimum": 0},
        }),
        "Message": _obj(["id", "sid", "status", "createdAt"], {
            "id": {"type": "string"}, "sid": {"type": "string"}, "provider": {"type": "string"},
            "to": {"type": "string", "description": "Masked: +39******4567"}, "from": nullable_text,
            "status": {"type": "string", "enum": MESSAGE_STATES}, "providerStatus": nullable_text,
            "numSegments": {"type": "string", "pattern": "^[0-9]+$"}, "attempts": {"type": "integer"},
            "errorCode": nullable_text, "errorMessage": nullable_text, "verificationId": nullable_text,
            "createdAt": ISO_TIME, "updatedAt": ISO_TIME,
            "history": {"type": "array", "items": _obj(["status", "at", "provider", "detail"], {
                "status": {"type": "string", "enum": [*MESSAGE_STATES, "ambiguous"]}, "provider": nullable_text,
                "detail": nullable_text, "at": ISO_TIME})},
        }),
    }


def _ops_paths() -> dict[str, Schema]:
    status = {"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}}
    outbox = _obj(["messages"], {"messages": {"type": "array", "items": _obj(
        ["sid", "to", "body", "dateEvent"],
        {"sid": {"type": "string"}, "to": E164, "from": {"type": ["string", "null"]},
         "body": {"type": "string"}, "dateEvent": ISO_TIME})}})
    return {
        "/-/healthz": {"get": {"summary": "Liveness (no dependency)", "tags": ["operations"],
                               "responses": {"200": response("Alive", status), **errors(500)}}},
        "/-/ready": {"get": {"summary": "Readiness: the database answers", "tags": ["operations"],
                             "responses": {"200": response("Ready", status), **errors(500, 503)}}},
        "/metrics": {"get": {"summary": "Prometheus metrics", "tags": ["operations"], "responses": {
            "200": {"description": "Prometheus text format",
                    "content": {"text/plain": {"schema": {"type": "string"}}}},
            **errors(500)}}},
        "/openapi.json": {"get": {"summary": "This document", "tags": ["operations"], "responses": {
            "200": response("OpenAPI 3.1 document", {"type": "object"}), **errors(500)}}},
        "/dev/outbox": {"get": {"summary": "Messages kept by the console provider (development only)",
                                "tags": ["development"], "responses": {"200": response("Newest first", outbox),
                                                                       **errors(404, 500)}}},
    }


def _send_paths() -> dict[str, Schema]:
    example = {"sender": "ACME", "receiver": "+393331234567", "body": "Hello from otpservice"}
    return {"/send": {"post": {
        "summary": "Send one SMS", "tags": ["sms"],
        "requestBody": {"required": True, "content": json_content(ref("SendRequest"), example)},
        "responses": {
            "200": response("The provider accepted the message", ref("SendResponse"), RATE_LIMIT_HEADERS),
            "202": response("Queued in our outbox; `sid` is our message id", ref("SendResponse")),
            **errors(*SEND_ERRORS),
        },
    }}}


def _verify_paths() -> dict[str, Schema]:
    id_param = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"},
                 "description": "Verification id (VE + 32 hex)"}]
    start_example = {"to": "+393339876543"}
    return {
        "/verify/start": {"post": {
            "summary": "Start a verification (or re-send the pending one's code)", "tags": ["verify"],
            "requestBody": {"required": True, "content": json_content(ref("VerifyStartRequest"), start_example)},
            "responses": {"201": response("A new verification", ref("Verification")),
                          "200": response("The pending verification, code re-sent", ref("Verification")),
                          **errors(*SEND_ERRORS)}}},
        "/verify/check": {"post": {
            "summary": "Check a code", "tags": ["verify"],
            "requestBody": {"required": True, "content": json_content(
                ref("VerifyCheckRequest"), {"to": "+393331234567", "code": "123456"})},
            "responses": {"200": response("Checked; `valid` tells the result", ref("VerifyCheckResponse")),
                          **errors(400, 404, 429, 500)}}},
        "/verify/{id}": {"get": {
            "summary": "A verification, in any state", "tags": ["verify"], "parameters": id_param,
            "responses": {"200": response("The verification", ref("VerificationDetail")), **errors(404, 500)}}},
        "/verify/{id}/cancel": {"post": {
            "summary": "Cancel a pending verification", "tags": ["verify"], "parameters": id_param,
            "responses": {"200": response("The canceled verification", ref("VerificationDetail")),
                          **errors(404, 500)}}},
    }


def _delivery_paths() -> dict[str, Schema]:
    sid_param = [{"name": "sid", "in": "path", "required": True, "schema": {"type": "string"},
                  "description": "Either id /send returned"}]
    token = [{"name": "token", "in": "query", "required": False, "schema": {"type": "string"},
              "description": "WEBHOOK_SECRET (or the X-Webhook-Token header)"}]
    receipt_body = {"content": {"application/x-www-form-urlencoded": {"schema": {"type": "object"}},
                                "application/json": {"schema": {"type": "object"}}}}
    recorded = {"204": {"description": "Receipt recorded (or ignored when already applied)"}}
    receipt = {"summary": "Delivery receipt; 404 while WEBHOOK_SECRET is unset", "tags": ["webhooks"],
               "parameters": token, "responses": {**recorded, **errors(400, 403, 404, 500)}}
    return {
        "/messages/{sid}": {"get": {
            "summary": "A message's record and status history (number masked)", "tags": ["sms"],
            "parameters": sid_param,
            "responses": {"200": response("The message", ref("Message")), **errors(404, 500)}}},
        "/webhooks/twilio/status": {"post": {
            "summary": "Twilio status callback, signed with X-Twilio-Signature", "tags": ["webhooks"],
            "requestBody": {"content": {"application/x-www-form-urlencoded": {"schema": {"type": "object"}}}},
            "responses": {**recorded, **errors(400, 403, 404, 500)}}},
        "/webhooks/vonage/dlr": {"get": receipt, "post": {**receipt, "requestBody": receipt_body}},
        "/webhooks/kaleyra/dlr": {"get": receipt, "post": {**receipt, "requestBody": receipt_body}},
    }


def default_paths() -> dict[str, Schema]:
    return {**_ops_paths(), **_send_paths(), **_verify_paths(), **_delivery_paths()}
