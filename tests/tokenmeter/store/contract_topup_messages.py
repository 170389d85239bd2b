"""The store contract for the chat messages that show a top-up's progress
(``set_topup_messages`` / ``topup_messages``).

Mixed into ``StoreContract``, so both adapters run it.
"""

from __future__ import annotations

from tokenmeter.store.base import Store

GROUP = -100123  # group chat ids are negative


class TopUpMessagesContract:
    def test_topup_messages_round_trip(self, store: Store) -> None:
        """Messages are kept per top-up and meter, one per chat, group chats included."""
        store.set_topup_messages("rumah", "t1", {1001: 57, GROUP: 9})
        store.set_topup_messages("rumah", "t2", {1001: 60})
        store.set_topup_messages("kos-1", "t3", {1002: 4})
        assert store.topup_messages("rumah") == {"t1": {1001: 57, GROUP: 9}, "t2": {1001: 60}}
        assert store.topup_messages("kos-1") == {"t3": {1002: 4}}
        assert store.topup_messages("nope") == {}

    def test_topup_messages_are_replaced_and_removed(self, store: Store) -> None:
        """Setting them again replaces the whole set; an empty set removes the top-up."""
        store.set_topup_messages("rumah", "t1", {1001: 57, 1002: 58})
        store.set_topup_messages("rumah", "t2", {1001: 60})
        store.set_topup_messages("rumah", "t1", {1002: 61})
        assert store.topup_messages("rumah") == {"t1": {1002: 61}, "t2": {1001: 60}}
        store.set_topup_messages("rumah", "t1", {})
        store.set_topup_messages("rumah", "never-kept", {})
        assert store.topup_messages("rumah") == {"t2": {1001: 60}}
