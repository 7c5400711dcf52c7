"""Bodies built to break the parser get a clear 4xx, never a 500."""

from tests.conftest import AppFactory

NUMBER = "+393331234567"


async def test_deeply_nested_json_is_invalid_request(app_client: AppFactory) -> None:
    async with app_client(webhook_secret="hook-1") as client:
        for route in ("/send", "/verify/start", "/verify/check"):
            response = await client.post(route, content=b"[" * 20_000)
            assert (response.status_code, response.json()["code"]) == (400, "invalid_request")
        receipt = await client.post(
            "/webhooks/vonage/dlr?token=hook-1", content=b"[" * 10_000, headers={"Content-Type": "application/json"}
        )
        assert receipt.status_code == 400


async def test_oversized_body_is_413_before_it_is_read(app_client: AppFactory) -> None:
    async with app_client() as client:
        declared = await client.post("/send", content=b"{}", headers={"Content-Length": str(10**9)})
        assert (declared.status_code, declared.json()["code"]) == (413, "payload_too_large")

        async def chunks():  # no Content-Length: counted as it streams
            for _ in range(100):
                yield b" " * 1024

        streamed = await client.post("/verify/start", content=chunks())
        assert (streamed.status_code, streamed.json()["code"]) == (413, "payload_too_large")
