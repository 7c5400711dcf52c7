"""Where providers post delivery receipts: the callback URL given with each send."""

TWILIO_STATUS_PATH = "/webhooks/twilio/status"
VONAGE_DLR_PATH = "/webhooks/vonage/dlr"
KALEYRA_DLR_PATH = "/webhooks/kaleyra/dlr"


def callback_urls(public_base_url: str | None, webhook_secret: str | None) -> dict[str, str]:
    """Status callback URL by provider name; none without PUBLIC_BASE_URL. Vonage and
    Kaleyra sign nothing, so their URL carries WEBHOOK_SECRET as a token."""
    if not public_base_url:
        return {}
    base = public_base_url.rstrip("/")
    urls = {"twilio": base + TWILIO_STATUS_PATH}
    if webhook_secret:
        urls["vonage"] = f"{base}{VONAGE_DLR_PATH}?token={webhook_secret}"
        urls["kaleyra"] = f"{base}{KALEYRA_DLR_PATH}?token={webhook_secret}"
    return urls
