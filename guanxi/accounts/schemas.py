from datetime import datetime

from ninja import Field, Schema

from guanxi.core.api import StrictIn


class UserOut(Schema):
    id: int
    username: str
    display_name: str
    email: str
    role: str
    team: str | None = None
    is_active: bool

    @staticmethod
    def resolve_team(obj):
        return obj.team.name if obj.team_id else None


class UserIn(StrictIn):
    username: str = Field(..., max_length=150)
    role: str
    password: str | None = Field(None, max_length=200)
    email: str = Field("", max_length=254)
    display_name: str = Field("", max_length=100)
    team: str | None = Field(None, max_length=100, description="Team name; made if new.")


class UserPatch(StrictIn):
    role: str | None = None
    email: str | None = Field(None, max_length=254)
    display_name: str | None = Field(None, max_length=100)
    team: str | None = Field(None, max_length=100)
    is_active: bool | None = None


class TokenIn(StrictIn):
    name: str = Field("", max_length=100)


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreatedOut(TokenOut):
    token: str
