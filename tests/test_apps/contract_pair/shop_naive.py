"""A naive port of the pair: FastAPI's own validation answers 422 where legacy said 400."""

from __future__ import annotations

from fastapi import FastAPI, Header
from pydantic import BaseModel

from tests.test_apps.contract_pair import shop_migrated as migrated
from tests.test_apps.contract_pair import shop_store as store

app = FastAPI()


class NewItem(BaseModel):
    name: str


@app.post("/items", status_code=201)
async def create_item(item: NewItem, x_token: str = Header("")) -> object:
    if x_token not in store.sessions:
        return migrated.answer({"error": "unauthorised"}, 401)
    return migrated.answer({"id": store.add_item(item.name), "name": item.name}, 201)


# Everything else as in the good port.
app.router.routes.extend(
    r for r in migrated.app.router.routes if getattr(r, "path", "") != "/items"
)
