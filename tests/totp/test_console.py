"""The console's search shows an identity's authenticator factors, never a secret."""

from tests.admin.traffic import ADMIN_KEY, login
from tests.conftest import AppFactory


async def test_search_by_identity_lists_its_factors_without_the_secret(app_client: AppFactory) -> None:
    async with app_client(admin_api_keys=ADMIN_KEY) as client:
        created = (await client.post("/totp/factors", json={"identity": "user-77", "label": "alice"})).json()
        await login(client)
        page = (await client.get("/admin/search", params={"q": "user-77"})).text
        assert 'id="factors"' in page and created["id"] in page and "alice" in page and "unverified" in page
        assert created["secret"] not in page and "otpauth" not in page
        nothing = (await client.get("/admin/search", params={"q": "nobody-here"})).text
        assert 'id="nothing-found"' in nothing and 'id="factors"' not in nothing
