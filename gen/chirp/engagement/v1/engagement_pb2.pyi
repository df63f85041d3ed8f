from chirp.tweet.v1 import tweet_pb2 as _tweet_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TweetEngagement(_message.Message):
    __slots__ = ("tweet_id", "like_count", "retweet_count", "viewer")
    TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    LIKE_COUNT_FIELD_NUMBER: _ClassVar[int]
    RETWEET_COUNT_FIELD_NUMBER: _ClassVar[int]
    VIEWER_FIELD_NUMBER: _ClassVar[int]
    tweet_id: int
    like_count: int
    retweet_count: int
    viewer: _tweet_pb2.TweetViewerState
    def __init__(self, tweet_id: _Optional[int] = ..., like_count: _Optional[int] = ..., retweet_count: _Optional[int] = ..., viewer: _Optional[_Union[_tweet_pb2.TweetViewerState, _Mapping]] = ...) -> None: ...
