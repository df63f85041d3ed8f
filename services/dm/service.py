"""DmService: converts between the contract and the dm domain (conversations, access rules, settings)."""

from __future__ import annotations

from chirp.dm.v1 import dm_pb2, dm_service_pb2, dm_service_pb2_grpc
from chirp.user.v1 import user_pb2

from services.dm.access import DEFAULT_POLICY
from services.dm.conversations import Conversations
from services.dm.people import People
from services.dm.store import DmStore, StoredConversation, StoredMessage
from services.kit import paging
from services.kit.identity import require_user
from services.kit.server import Context
from services.kit.timestamps import to_timestamp

__all__ = ["DmService"]

pb = dm_service_pb2

_NEWEST = 2**63 - 1
_CONVERSATIONS_PAGE = 20
_MESSAGES_PAGE = 50


class DmService(dm_service_pb2_grpc.DmServiceServicer):
    def __init__(self, *, store: DmStore, conversations: Conversations, people: People) -> None:
        self._store = store
        self._conversations = conversations
        self._people = people

    async def CreateConversation(self, request: pb.CreateConversationRequest, context: Context) -> dm_pb2.Conversation:
        me = require_user()
        # Named ignoring case: the same user twice counts once, in the place first named.
        named: dict[str, str] = {}
        for name in request.participant_usernames:
            named.setdefault(name.lower(), name)
        others = await self._people.by_usernames(list(named.values()))
        conversation = await self._conversations.start(me, others, request_id=request.request_id)
        latest = await self._conversations.latest(me, [conversation])
        return (await self._answer([conversation], latest))[0]

    async def ListConversations(
        self, request: pb.ListConversationsRequest, context: Context
    ) -> pb.ListConversationsResponse:
        me = require_user()
        size = paging.page_size(request.page_size, default=_CONVERSATIONS_PAGE)
        before = paging.parse_token(request.page_token) or _NEWEST
        page = await self._conversations.inbox(me, before=before, limit=size)
        return pb.ListConversationsResponse(
            conversations=await self._answer(page.conversations, page.latest),
            next_page_token=paging.next_token(page.cursors, size=size),
        )

    async def SendMessage(self, request: pb.SendMessageRequest, context: Context) -> dm_pb2.Message:
        me = require_user()
        message = await self._conversations.send(
            me, request.conversation_id, request.text, request_id=request.request_id
        )
        return _message(message)

    async def ListMessages(self, request: pb.ListMessagesRequest, context: Context) -> pb.ListMessagesResponse:
        me = require_user()
        size = paging.page_size(request.page_size, default=_MESSAGES_PAGE)
        before = paging.parse_token(request.page_token) or _NEWEST
        messages = await self._conversations.messages(me, request.conversation_id, before=before, limit=size)
        return pb.ListMessagesResponse(
            messages=[_message(m) for m in messages],
            next_page_token=paging.next_token([m.id for m in messages], size=size),
        )

    async def GetDmSettings(self, request: pb.GetDmSettingsRequest, context: Context) -> dm_pb2.DmSettings:
        me = require_user()
        policy = (await self._store.policies([me])).get(me, DEFAULT_POLICY)
        return dm_pb2.DmSettings(allow_messages_from=policy)  # type: ignore[arg-type]

    async def UpdateDmSettings(self, request: pb.UpdateDmSettingsRequest, context: Context) -> dm_pb2.DmSettings:
        me = require_user()
        wanted = request.settings.allow_messages_from
        listed = "allow_messages_from" in request.update_mask.paths
        if listed or (not request.update_mask.paths and wanted != dm_pb2.MESSAGE_POLICY_UNSPECIFIED):
            # A listed field left unspecified goes back to its default.
            await self._store.set_policy(me, wanted or DEFAULT_POLICY)
        return await self.GetDmSettings(pb.GetDmSettingsRequest(), context)

    async def _answer(
        self, conversations: list[StoredConversation], latest: dict[int, StoredMessage]
    ) -> list[dm_pb2.Conversation]:
        users = await self._people.summaries({p for c in conversations for p in c.participants})
        return [_conversation(c, users, latest.get(c.id)) for c in conversations]


def _conversation(
    conversation: StoredConversation, users: dict[int, user_pb2.UserSummary], latest: StoredMessage | None
) -> dm_pb2.Conversation:
    answer = dm_pb2.Conversation(
        id=conversation.id,
        type=conversation.kind,  # type: ignore[arg-type]  # the ConversationType numbers
        # Deleted accounts drop out of the list; their messages stay.
        participants=[users[p] for p in conversation.participants if p in users],
        created_at=to_timestamp(conversation.created_at),
        updated_at=to_timestamp(conversation.updated_at),
    )
    if latest is not None:
        answer.last_message.CopyFrom(_message(latest))
    return answer


def _message(message: StoredMessage) -> dm_pb2.Message:
    return dm_pb2.Message(
        id=message.id,
        conversation_id=message.conversation_id,
        sender_id=message.sender_id,
        text=message.text,
        created_at=to_timestamp(message.created_at),
    )
