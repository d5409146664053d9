"""Conversations (`/v1/conversations`, built in, `storage.stores.conversations`) through the
real `openai` SDK: create/retrieve/update/delete, items create/list/retrieve/delete, exact
pagination with `after` in both orders, and the 400s and 404s the SDK raises."""

from __future__ import annotations

import openai
import pytest


def user(text: str) -> dict:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def test_conversation_lifecycle(openai_client):
    conv = openai_client.conversations.create(
        metadata={"topic": "demo"}, items=[{"type": "message", "role": "user", "content": "Hello!"}]
    )
    assert conv.id.startswith("conv_") and len(conv.id) == len("conv_") + 48
    assert conv.object == "conversation"
    assert conv.metadata == {"topic": "demo"}
    assert isinstance(conv.created_at, int)

    got = openai_client.conversations.retrieve(conv.id)
    assert (got.id, got.created_at, got.metadata) == (conv.id, conv.created_at, {"topic": "demo"})

    updated = openai_client.conversations.update(conv.id, metadata={"stage": "done"})
    assert updated.metadata == {"stage": "done"}
    assert updated.created_at == conv.created_at

    first = openai_client.conversations.items.list(conv.id).data[0]
    assert first.type == "message" and first.role == "user" and first.id.startswith("msg_")

    deleted = openai_client.conversations.delete(conv.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (conv.id, "conversation.deleted", True)
    with pytest.raises(openai.NotFoundError):
        openai_client.conversations.retrieve(conv.id)
    with pytest.raises(openai.NotFoundError):
        openai_client.conversations.items.retrieve(first.id, conversation_id=conv.id)


def test_items_create_retrieve_delete(openai_client):
    conv = openai_client.conversations.create()
    created = openai_client.conversations.items.create(
        conv.id,
        items=[
            user("Hello!"),
            user("How are you?"),
            {"type": "function_call", "call_id": "c1", "name": "lookup", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "42"},
        ],
    )
    assert created.object == "list"
    assert [i.type for i in created.data] == ["message", "message", "function_call", "function_call_output"]
    assert created.data[0].content[0].text == "Hello!"
    assert created.first_id == created.data[0].id and created.last_id == created.data[-1].id
    assert created.has_more is False
    assert created.data[2].id.startswith("item_") and created.data[3].id.startswith("item_")

    item = openai_client.conversations.items.retrieve(created.data[1].id, conversation_id=conv.id)
    assert (item.id, item.role, item.content[0].text) == (created.data[1].id, "user", "How are you?")

    gone = openai_client.conversations.items.delete(created.data[1].id, conversation_id=conv.id)
    assert (gone.id, gone.object, gone.deleted) == (created.data[1].id, "conversation.item.deleted", True)
    with pytest.raises(openai.NotFoundError):
        openai_client.conversations.items.delete(created.data[1].id, conversation_id=conv.id)
    left = openai_client.conversations.items.list(conv.id, order="asc")
    assert [i.id for i in left.data] == [created.data[0].id, created.data[2].id, created.data[3].id]


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_items_page_exactly(openai_client, order):
    conv = openai_client.conversations.create(items=[user(str(i)) for i in range(20)])
    openai_client.conversations.items.create(conv.id, items=[user(str(i)) for i in range(20, 25)])
    expected = [str(i) for i in range(25)]
    if order == "desc":
        expected.reverse()

    # Raw pages: has_more is exact and `after` continues where the last page ended.
    texts, after, pages = [], None, 0
    while True:
        kwargs = {"limit": 10, "order": order} | ({"after": after} if after else {})
        page = openai_client.conversations.items.list(conv.id, **kwargs)
        pages += 1
        texts += [i.content[0].text for i in page.data]
        assert page.first_id == page.data[0].id and page.last_id == page.data[-1].id
        if not page.has_more:
            break
        after = page.last_id
    assert (pages, texts) == (3, expected)

    # The SDK's auto-pagination walks the same way.
    walked = [i.content[0].text for i in openai_client.conversations.items.list(conv.id, limit=7, order=order)]
    assert walked == expected

    # The default page: 20 items, newest first.
    default = openai_client.conversations.items.list(conv.id)
    assert len(default.data) == 20 and default.has_more is True
    assert default.data[0].content[0].text == "24"


def test_mistakes_are_400s_and_404s(openai_client):
    conv = openai_client.conversations.create()
    with pytest.raises(openai.BadRequestError):
        openai_client.conversations.create(items=[user(str(i)) for i in range(21)])
    with pytest.raises(openai.BadRequestError):
        openai_client.conversations.items.create(conv.id, items=[user(str(i)) for i in range(21)])
    with pytest.raises(openai.BadRequestError):
        openai_client.conversations.create(metadata={f"k{i}": "v" for i in range(17)})
    with pytest.raises(openai.BadRequestError):
        openai_client.conversations.update(conv.id, metadata={"k" * 65: "v"})
    with pytest.raises(openai.BadRequestError):
        openai_client.conversations.update(conv.id, metadata={"k": "v" * 513})
    with pytest.raises(openai.BadRequestError):
        openai_client.conversations.items.list(conv.id, limit=101)
    with pytest.raises(openai.BadRequestError):
        openai_client.conversations.items.list(conv.id, after="msg_unknown")
    with pytest.raises(openai.BadRequestError):
        openai_client.conversations.items.create(conv.id, items=[{"type": "message", "role": "nobody", "content": "x"}])
    missing = "conv_" + "0" * 48
    for call in (
        lambda: openai_client.conversations.retrieve(missing),
        lambda: openai_client.conversations.update(missing, metadata={}),
        lambda: openai_client.conversations.delete(missing),
        lambda: openai_client.conversations.items.list(missing),
        lambda: openai_client.conversations.items.create(missing, items=[user("x")]),
        lambda: openai_client.conversations.items.retrieve("msg_x", conversation_id=conv.id),
    ):
        with pytest.raises(openai.NotFoundError) as e:
            call()
        assert "not found" in str(e.value)
