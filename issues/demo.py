"""Demo reports (随手拍) for ``manage.py seed_demo``: every state, photos, upvotes, timelines.

* Departments for every demo subdistrict: 城管中队 (chengguan), 房管办 (fangguan), 派出所
  (paichusuo), 消防救援站 (xiaofang) - the codes the categories route to. They get no
  staff of their own (the demo keeps its five logins).
* Ten reports of the demo resident (13800000004) in neighbourhood 1 walk through the
  services with time travel (``now=``): new, acknowledged, committed with an update,
  resolved, confirmed and rated, reopened, rejected, merged, one still unanswered.
* About 300 more, over the four demo neighbourhoods and the last 120 days, are written in
  bulk with the same fields the services set (routing and deadlines by
  ``issues.services.routing.route``), their timeline steps, photos, upvotes and ratings,
  some answered late.
* Finally ``issues_escalate_due`` runs once: every report past its holder's deadline
  climbs a level (约请制), as the periodic job would have done.

Photos: four small JPEGs are drawn with Pillow and stored once through
``core.images.process_image``; the photo rows share those files.

Idempotent: nothing is added when the demo neighbourhoods already hold reports.
"""

from __future__ import annotations

import datetime
import io
from functools import lru_cache

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from buildings.demo import demo_neighbourhoods
from buildings.models import Building, Estate
from core.demo import DemoContext, person_name

from .models import (
    NEXT_LEVEL,
    OPEN_STATUSES,
    Category,
    Department,
    EventKind,
    Follow,
    HandlerLevel,
    Issue,
    IssueEvent,
    IssuePhoto,
    Source,
    Status,
    Upvote,
)

DEPARTMENTS = [
    ("chengguan", "城管中队", "021-56601234"),
    ("fangguan", "房管办", "021-56602345"),
    ("paichusuo", "派出所", "021-56603456"),
    ("xiaofang", "消防救援站", "021-56604567"),
]
BULK_REPORTS = 300
DAYS = 120
H = datetime.timedelta(hours=1)
RESIDENT, CADRE, PROPERTY, SUPERUSER = "13800000004", "13800000002", "13800000005", "13800000001"

TEXTS = {
    "noise": ["楼上装修每天早上七点就开始电钻", "小区门口商铺音响声音太大", "晚上广场舞音响太响"],
    "rubbish": ["楼道口堆了很多建筑垃圾", "垃圾厢房周边堆满杂物没人清理", "绿化带里有人倒装修垃圾"],
    "fire-passage": ["消防通道被私家车长期占用", "楼道里堆放旧家具挡住通道", "消防栓前停满电动车"],
    "ebike-charging": ["有人从三楼窗口拉电线给电瓶车充电", "楼道里电动车整夜充电"],
    "illegal-building": ["一楼住户在花园里搭了阳光房", "顶楼加盖了一间彩钢板房"],
    "greenery": ["小区里的大树枝条压到电线了", "草坪被车碾坏很久没有补种"],
    "parking": ["小区主干道两侧乱停车，救护车进不来", "外来车辆占用业主车位"],
    "street-light": ["5号楼前的路灯坏了一个多月", "楼道灯不亮，老人晚上上下楼很危险"],
    "water-leak": ["楼上渗水，天花板一直滴水", "地下车库水管爆裂"],
    "public-facility": ["健身器材螺丝松动有安全隐患", "单元门禁坏了关不上", "井盖松动踩上去会翻"],
    "other": ["希望小区增设快递柜", "小区门口的公交站牌被撞歪了"],
}
NOTES = ["已安排人员处理", "已联系相关住户", "已现场查看，正在协调", "已通知施工方整改"]
DONE = ["已清理完毕", "已修复，请确认", "已协调车主挪车并加装提示牌", "已完成整改"]
RATING_COMMENTS = ["处理很及时，谢谢", "", "速度有点慢", "问题解决了", "还可以"]
# (days ago, category, path): the resident's reports through the services
JOURNEYS = [
    (0.1, "street-light", "new"),
    (1, "rubbish", "acknowledged"),
    (3, "fire-passage", "committed"),
    (5, "water-leak", "resolved"),
    (10, "noise", "rated5"),
    (20, "parking", "rated2"),
    (15, "public-facility", "reopened"),
    (8, "other", "rejected"),
    (3, "fire-passage", "merged"),
    (6, "greenery", "unanswered"),
]


def seed(ctx: DemoContext) -> None:
    neighbourhoods = demo_neighbourhoods()
    if not neighbourhoods:
        return
    ensure_departments({n.subdistrict_id for n in neighbourhoods})
    if Issue.objects.filter(neighbourhood__in=neighbourhoods).exists():
        ctx.log("  issues: already seeded")
        return
    images = demo_images()
    users = {
        u.phone: u for u in User.objects.filter(phone__in=[RESIDENT, CADRE, PROPERTY, SUPERUSER])
    }
    now = timezone.now()
    journeys = seed_journeys(ctx, users, neighbourhoods[0], images, now) if RESIDENT in users else 0
    bulk = seed_bulk(ctx, users, neighbourhoods, images, now)
    from .services import issues_escalate_due

    escalated = issues_escalate_due(now=now)
    ctx.log(
        f"  issues: {journeys + bulk} reports ({journeys} through the services), "
        f"{escalated} escalated ({ctx.elapsed():.1f} s)"
    )


def ensure_departments(subdistrict_ids) -> list[Department]:
    found = []
    for subdistrict_id in sorted(subdistrict_ids):
        for code, name, phone in DEPARTMENTS:
            department, _created = Department.objects.get_or_create(
                subdistrict_id=subdistrict_id, code=code, defaults={"name": name, "phone": phone}
            )
            found.append(department)
    return found


def _jpeg(colour: tuple[int, int, int], size=(320, 240)) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(image)
    for step in range(0, size[0], 40):
        draw.line([(step, 0), (size[0] - step, size[1])], fill=(255, 255, 255), width=3)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


@lru_cache(maxsize=1)
def _jpegs() -> tuple[bytes, ...]:
    colours = [(120, 144, 156), (141, 110, 99), (85, 139, 47), (63, 81, 181)]
    return tuple(_jpeg(colour) for colour in colours)


def demo_upload(index: int) -> ContentFile:
    data = _jpegs()[index % len(_jpegs())]
    return ContentFile(data, name=f"demo-{index}.jpg")


def demo_images() -> list:
    """Four photos stored once through the image pipeline (their rows share the files)."""
    from core.images import process_image

    return [process_image(demo_upload(i), prefix="issues") for i in range(len(_jpegs()))]


# --- the resident's reports, through the services --------------------------------------------


def seed_journeys(ctx, users, neighbourhood, images, now) -> int:
    from residents.selectors.me import my_resident

    from . import services
    from .permissions import may_handle

    resident_user = users[RESIDENT]
    resident = my_resident(resident_user)
    if resident is None or resident.neighbourhood_id != neighbourhood.pk:
        return 0
    building = Building.objects.get(pk=resident.building_id)
    categories = {c.code: c for c in Category.objects.filter(active=True)}
    created = {}
    count = 0

    def handler(issue):
        for phone in (PROPERTY, CADRE, SUPERUSER):
            user = users.get(phone)
            if user is not None and may_handle(user, issue):
                return user
        return None

    for index, (days, code, path) in enumerate(JOURNEYS):
        category = categories.get(code)
        if category is None:
            continue
        start = now - datetime.timedelta(days=days)
        photos = [demo_upload(index)] if index % 2 == 0 else []
        issue = services.issue_create(
            category=category,
            description=TEXTS[code][index % len(TEXTS[code])],
            source=Source.WEB,
            reporter=resident_user,
            building=building,
            photos=photos,
            now=start,
        )
        created[path] = issue
        count += 1
        actor = handler(issue)
        if actor is None or path in ("new", "unanswered"):
            continue
        t = start + 2 * H
        if path == "merged" and "committed" in created:
            services.issue_merge(
                issue=issue, actor=actor, into=created["committed"], reason="与已有报事重复", now=t
            )
            continue
        if path == "rejected":
            services.issue_reject(
                issue=issue, actor=actor, reason="不属于社区管理范围，已告知12345", now=t
            )
            continue
        issue = services.issue_acknowledge(issue=issue, actor=actor, now=t)
        if path == "acknowledged":
            continue
        t += 3 * H
        due = timezone.localdate(t) + datetime.timedelta(days=2)
        issue = services.issue_commit(
            issue=issue, actor=actor, committed_due=due, note=NOTES[index % 4], now=t
        )
        t += 6 * H
        issue = services.issue_progress(
            issue=issue, actor=actor, text="正在处理中", photos=[demo_upload(index + 1)], now=t
        )
        if path == "committed":
            continue
        t += 20 * H
        issue = services.issue_resolve(
            issue=issue, actor=actor, note=DONE[index % 4], photos=[demo_upload(index + 2)], now=t
        )
        if path == "resolved":
            continue
        t += 10 * H
        if path == "reopened":
            services.issue_reopen(issue=issue, actor=resident_user, reason="问题又出现了", now=t)
            continue
        rating = int(path[-1])
        services.issue_confirm(
            issue=issue,
            actor=resident_user,
            rating=rating,
            comment=RATING_COMMENTS[rating % 5],
            now=t,
        )
    return count


# --- the rest, in bulk -----------------------------------------------------------------------


class _Row:
    """One bulk report and its steps, before they have ids."""

    def __init__(self, issue: Issue):
        self.issue = issue
        self.created = issue.created_at  # bulk_create's auto_now_add overwrites it
        self.events: list[IssueEvent] = []
        self.photos: list[int] = []  # image indexes of the report's own photos
        self.resolved_photo: int | None = None
        self.voters: list[int] = []

    def step(self, kind, when, label, text="", data=None):
        self.events.append(
            IssueEvent(kind=kind, created_at=when, actor_label=label, text=text, data=data or {})
        )
        self.issue.activity_at = when


def _label(issue: Issue, estates, departments) -> str:
    if issue.handler_level == HandlerLevel.PROPERTY:
        return f"物业: {estates[issue.estate_id].property_company.name}"
    if issue.handler_level == HandlerLevel.DEPARTMENT and issue.department_id:
        return departments[issue.department_id]
    return "居委会"


def _plan(rng, issue, now, estates, departments, by_code) -> _Row:
    """A routed report moved along a random path (no step after ``now``), then escalated
    as the periodic job would have while it was past its holder's deadline."""
    row = _advance(rng, issue, now, estates, departments)
    _escalate(row, now, estates, departments, by_code)
    return row


def _escalate(row: _Row, now, estates, departments, by_code) -> None:
    from .services.timeline import system_label

    issue = row.issue
    while (
        issue.status in OPEN_STATUSES
        and issue.due_at is not None
        and issue.due_at < now
        and issue.handler_level in NEXT_LEVEL
    ):
        lapsed, before = issue.due_at, issue.handler_level
        issue.handler_level = NEXT_LEVEL[before]
        if issue.handler_level == HandlerLevel.DEPARTMENT:
            issue.department = by_code.get((issue.subdistrict_id, issue.category.department_code))
        issue.escalations += 1
        issue.due_at = lapsed + issue.category.acknowledge_hours * H
        data = {
            "from": before,
            "to": issue.handler_level,
            "due": lapsed.isoformat(),
            "department": issue.department_id,
        }
        text = f"逾期未答复，已转交{_label(issue, estates, departments)}"
        row.step(EventKind.ESCALATED, lapsed, system_label(), text, data)


def _advance(rng, issue, now, estates, departments) -> _Row:
    from .services.routing import end_of_day

    row = _Row(issue)
    created, category = issue.created_at, issue.category
    row.step(EventKind.SUBMITTED, created, "热线" if issue.source == Source.HOTLINE else "居民")
    label = _label(issue, estates, departments)
    age_h = (now - created) / H
    late = rng.random() < 0.25
    ack_after = category.acknowledge_hours * (
        rng.uniform(1.1, 3) if late else rng.uniform(0.05, 0.9)
    )
    roll = rng.random()
    if age_h < ack_after or roll < 0.08:
        return row  # submitted (perhaps overdue: the escalation job takes it)
    ack = created + ack_after * H
    if roll < 0.12:
        issue.status, issue.closed_at, issue.reason = Status.REJECTED, ack, "经核实不属于管理范围"
        row.step(EventKind.REJECTED, ack, label, issue.reason)
        return row
    issue.status, issue.acknowledged_at = Status.ACKNOWLEDGED, ack
    issue.due_at = ack + category.acknowledge_hours * H
    row.step(EventKind.ACKNOWLEDGED, ack, label)
    commit_at = ack + rng.uniform(1, 12) * H
    if roll < 0.22 or commit_at > now:
        return row
    days = rng.choice([1, 2, 3, 5, 7])
    committed = timezone.localdate(commit_at) + datetime.timedelta(days=days)
    issue.status, issue.committed_at, issue.committed_due = Status.IN_PROGRESS, commit_at, committed
    issue.due_at = end_of_day(committed)
    row.step(
        EventKind.COMMITTED, commit_at, label, rng.choice(NOTES), {"date": committed.isoformat()}
    )
    slow = rng.random() < 0.25
    hours = (days + (rng.uniform(1, 4) if slow else -rng.uniform(0.2, 0.9))) * 24
    resolved = commit_at + max(2, hours) * H
    if roll < 0.40 or resolved > now:
        if rng.random() < 0.3:
            row.step(EventKind.PROGRESS, commit_at + 3 * H, label, "正在处理中")
        return row
    issue.status, issue.resolved_at, issue.due_at = Status.RESOLVED, resolved, None
    issue.resolution_note = rng.choice(DONE)
    row.step(EventKind.RESOLVED, resolved, label, issue.resolution_note)
    row.resolved_photo = rng.randrange(4) if rng.random() < 0.5 else None
    closed = resolved + rng.uniform(2, 72) * H
    if roll < 0.50:
        return row
    if rng.random() < 0.1 and resolved + 30 * H <= now:  # reopened once, fixed again
        row.step(EventKind.REOPENED, resolved + 5 * H, "居民", "问题又出现了", {"from": "resolved"})
        resolved = resolved + 30 * H
        issue.reopen_count, issue.resolved_at = 1, resolved
        row.step(EventKind.RESOLVED, resolved, label, issue.resolution_note)
        closed = resolved + rng.uniform(2, 72) * H
    if issue.reporter_id and rng.random() < 0.85 and closed <= now:
        issue.status, issue.closed_at = Status.CLOSED, closed
        issue.rating = rng.choices([1, 2, 3, 4, 5], weights=[1, 1, 2, 4, 6])[0]
        issue.rating_comment = rng.choice(RATING_COMMENTS)
        row.step(
            EventKind.CONFIRMED, closed, "居民", issue.rating_comment, {"rating": issue.rating}
        )
    elif resolved + 7 * 24 * H <= now:
        issue.status, issue.closed_at = Status.CLOSED, resolved + 7 * 24 * H
        row.step(EventKind.AUTO_CLOSED, issue.closed_at, "系统")
    return row


def seed_bulk(ctx, users, neighbourhoods, images, now) -> int:
    from .services.routing import route

    rng = ctx.random("issues")
    categories = [
        c
        for c in Category.objects.filter(active=True).prefetch_related("attributes")
        if not any(a.required for a in c.attributes.all())
    ]
    estates = {
        e.pk: e
        for e in Estate.objects.filter(neighbourhood__in=neighbourhoods).select_related(
            "property_company", "neighbourhood__subdistrict"
        )
    }
    buildings = list(Building.objects.filter(estate_id__in=estates).order_by("pk"))
    all_departments = list(Department.objects.all())
    departments = {d.pk: d.name for d in all_departments}
    by_code = {(d.subdistrict_id, d.code): d for d in all_departments}
    resident = users.get(RESIDENT)
    first = neighbourhoods[0].pk
    rows = []
    for index in range(BULK_REPORTS):
        building = rng.choice(buildings)
        estate = estates[building.estate_id]
        category = rng.choice(categories)
        created = now - datetime.timedelta(hours=rng.uniform(1, DAYS * 24))
        source = rng.choice([Source.HOTLINE, Source.STAFF, Source.WEB, Source.OPEN311])
        reporter = resident if source == Source.WEB and estate.neighbourhood_id == first else None
        if source == Source.WEB and reporter is None:
            source = Source.STAFF
        issue = Issue(
            category=category,
            description=rng.choice(TEXTS.get(category.code, TEXTS["other"])),
            source=source,
            external_id=f"DEMO-{index:05d}" if source == Source.HOTLINE else "",
            reporter=reporter,
            contact_name="" if reporter else person_name(rng),
            contact_phone="" if reporter else f"139{rng.randrange(10**8):08d}",
            entered_by=users.get(CADRE) if source == Source.STAFF else None,
            building=building,
            estate=estate,
            neighbourhood_id=estate.neighbourhood_id,
            subdistrict_id=estate.neighbourhood.subdistrict_id,
            district_id=estate.neighbourhood.subdistrict.district_id,
            address=f"{estate.name}{building.number}",
            created_at=created,
            activity_at=created,
        )
        route(issue, now=created)
        row = _plan(rng, issue, now, estates, departments, by_code)
        if rng.random() < 0.4:
            row.photos = rng.sample(range(len(images)), rng.choice([1, 2]))
        # upvotes (我也遇到) come from verified residents of the neighbourhood: the demo
        # resident, in neighbourhood 1, on reports that are not hers
        if resident and estate.neighbourhood_id == first and not reporter and rng.random() < 0.5:
            row.voters = [resident.pk]
        issue.upvote_count = len(row.voters)
        issue.follower_count = 1 if reporter else 0
        rows.append(row)
    with transaction.atomic():
        _write(ctx, rows, images)
    return len(rows)


def _write(ctx, rows, images) -> None:
    issues = ctx.bulk_insert(Issue, (row.issue for row in rows), keep=True)
    # bulk_create leaves auto_now_add to "now": put the travelled times back
    for row, issue in zip(rows, issues, strict=True):
        issue.created_at, issue.updated_at = row.created, issue.activity_at
    Issue.objects.bulk_update(issues, ["created_at", "updated_at"], batch_size=500)
    events, photos, votes, follows = [], [], [], []
    for row, issue in zip(rows, issues, strict=True):
        for event in row.events:
            event.issue_id = issue.pk
            events.append(event)
    saved = ctx.bulk_insert(IssueEvent, events, keep=True)
    resolved_events = {e.issue_id: e.pk for e in saved if e.kind == EventKind.RESOLVED}
    for row, issue in zip(rows, issues, strict=True):
        for image_index in row.photos:
            photos.append(_photo(issue, images[image_index], None))
        if row.resolved_photo is not None and issue.pk in resolved_events:
            photos.append(_photo(issue, images[row.resolved_photo], resolved_events[issue.pk]))
        votes += [Upvote(issue_id=issue.pk, user_id=user_id) for user_id in row.voters]
        if issue.reporter_id:
            follows.append(Follow(issue_id=issue.pk, user_id=issue.reporter_id))
    ctx.bulk_insert(IssuePhoto, photos)
    ctx.bulk_insert(Upvote, votes)
    ctx.bulk_insert(Follow, follows)


def _photo(issue: Issue, stored, event_id) -> IssuePhoto:
    return IssuePhoto(
        issue_id=issue.pk,
        event_id=event_id,
        image=stored.name,
        thumbnail=stored.thumbnail_name,
        width=stored.width,
        height=stored.height,
    )
