"""The support router: its packaged head, its data, its retraining, and follow-up answers."""

import json
import shutil
from dataclasses import replace

import pytest

from plait.agents.prompts import SUPPORT_LABELS
from plait.agents.support_orders import yes_or_no
from plait.agents.support_routing import (ROUTER_FOLDER, ROUTES_FILE, action_of, read_routes, route_message,
                                          router_model, routes_hash)
from plait.config import load_settings
from plait.errors import PlaitError


def test_the_packaged_head_was_trained_on_the_routing_set_as_it_is():
    meta = json.loads((ROUTER_FOLDER / "adapter.json").read_text())
    assert meta["data_hash"] == routes_hash(), (
        "agents/data/support_routes.jsonl changed: rebuild the head with `python -m plait.agents.support_routing --package`")
    labels = {f"{p}/{t}" for p, topics in SUPPORT_LABELS.items() for t in topics}
    assert set(meta["task"]["labels"]) == labels


def test_the_routing_set_is_large_and_covers_every_label():
    pairs = read_routes()
    counts = {label: sum(1 for _, lb in pairs if lb == label) for label in {lb for _, lb in pairs}}
    assert len(pairs) >= 400 and len(counts) == 12 and min(counts.values()) >= 30
    assert len({text.lower() for text, _ in pairs}) == len(pairs)


def test_a_bad_routing_line_names_its_line(tmp_path):
    bad = tmp_path / "routes.jsonl"
    bad.write_text('{"text": "hi", "label": "chit_chat/greeting"}\n{"text": "where", "label": "orders/where"}\n')
    with pytest.raises(PlaitError, match=r"routes.jsonl:2: .*orders/order_status"):
        read_routes(bad)


def test_actions_split_orders_by_topic():
    assert [action_of(x) for x in ("orders/order_status", "orders/cancel_order", "help_centre/warranty",
                                   "handoff/human_request", "chit_chat/thanks")] == \
        ["order_status", "cancel_order", "help_centre", "handoff", "chit_chat"]


@pytest.mark.parametrize("message, answer", [
    ("yes", "yes"), ("Yes please, go ahead", "yes"), ("ok", "yes"), ("yep", "yes"), ("sure, cancel it", "yes"),
    ("no", "no"), ("No thanks", "no"), ("actually no, keep it", "no"), ("hmm leave it for now", "no"),
    ("I changed my mind, don't cancel", "no"), ("where is it now?", None), ("how long do refunds take", None)])
def test_yes_or_no(message, answer):
    assert yes_or_no(message) == answer


@pytest.mark.real
def test_the_packaged_head_routes_and_pools_by_action():
    head = router_model()
    decision = route_message(head, "where is my parcel A1002??")
    assert decision.action == "order_status" and decision.confidence > 0.5
    assert route_message(head, "pls cancel A1003 i dont need it").action == "cancel_order"
    assert route_message(head, "do you deliver to ireland").label == "help_centre/shipping"
    # A follow-up is read in the light of the thread's last action.
    alone = route_message(head, "and the tracking number?")
    after = route_message(head, "and the tracking number?", previous="order_status")
    assert after.action == "order_status" and (alone.action != "order_status" or after.confidence > alone.confidence)


@pytest.mark.real
def test_a_changed_routing_set_retrains_the_head_into_the_store(tmp_path):
    routes = tmp_path / "routes.jsonl"
    shutil.copy(ROUTES_FILE, routes)
    with routes.open("a") as f:
        f.write(json.dumps({"text": "can I book a table for dinner?", "label": "chit_chat/greeting"}) + "\n")
    settings = replace(load_settings(), home=tmp_path / "home")
    head = router_model(routes=routes, settings=settings)
    stored = json.loads((tmp_path / "home" / "adapters" / "support-router" / "adapter.json").read_text())
    assert stored["data_hash"] == routes_hash(routes) != routes_hash(ROUTES_FILE)
    assert head.folder == str(tmp_path / "home" / "adapters" / "support-router")  # the store's head wins
    router_model(routes=routes, settings=settings)  # up to date now: not trained again
    assert json.loads((tmp_path / "home" / "adapters" / "support-router" / "adapter.json").read_text()) == stored
