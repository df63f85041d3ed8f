from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class Trend(_message.Message):
    __slots__ = ("hashtag", "tweet_count", "author_count", "score")
    HASHTAG_FIELD_NUMBER: _ClassVar[int]
    TWEET_COUNT_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_COUNT_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    hashtag: str
    tweet_count: int
    author_count: int
    score: float
    def __init__(self, hashtag: _Optional[str] = ..., tweet_count: _Optional[int] = ..., author_count: _Optional[int] = ..., score: _Optional[float] = ...) -> None: ...
