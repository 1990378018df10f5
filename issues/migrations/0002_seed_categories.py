"""Seed the categories (Open311 services) the product starts with.

Idempotent (``update_or_create`` on the code) and reversible: going back deletes the
seeded codes that no report uses yet (a used category is protected and stays).
"""

from django.db import migrations

PROPERTY, COMMITTEE, DEPARTMENT = "property", "committee", "department"

G_ENV = ("环境卫生", "Environment and sanitation")
G_SAFETY = ("安全隐患", "Safety hazards")
G_FACILITY = ("房屋与设施", "Buildings and facilities")
G_ORDER = ("秩序管理", "Public order")
G_OTHER = ("其他", "Other")

YES_NO = [
    {"key": "yes", "name_zh": "是", "name_en": "Yes"},
    {"key": "no", "name_zh": "否", "name_en": "No"},
]

# code, zh, en, group, description zh/en, keywords, handler, department, ack h, resolve h,
# attributes: (code, datatype, required, question zh, question en, values)
CATEGORIES = [
    (
        "noise", "噪音扰民", "Noise", G_ENV,
        "装修、施工、商铺、广场舞等噪音", "Noise from renovation, building work, shops, dancing",
        "噪音,装修,施工,广场舞,吵闹,noise", PROPERTY, "chengguan", 24, 168,
        [
            (
                "when", "singlevaluelist", False, "什么时候吵？", "When is it noisy?",
                [
                    {"key": "day", "name_zh": "白天", "name_en": "Daytime"},
                    {"key": "night", "name_zh": "夜间（22点至次日6点）",
                     "name_en": "At night (22:00 to 6:00)"},
                ],
            ),
        ],
    ),
    (
        "rubbish", "垃圾堆放", "Rubbish dumping", G_ENV,
        "垃圾、杂物、建筑垃圾乱堆乱放", "Rubbish, clutter or rubble left where it should not be",
        "垃圾,杂物,建筑垃圾,堆放,rubbish", PROPERTY, "chengguan", 24, 72, [],
    ),
    (
        "elevator-fault", "电梯故障", "Elevator fault", G_SAFETY,
        "电梯停运、困人、异响", "A lift that stopped, trapped someone or makes odd noises",
        "电梯,困人,停运,lift,elevator", PROPERTY, "fangguan", 2, 24,
        [
            ("trapped", "singlevaluelist", True, "是否有人被困？", "Is anyone trapped?", YES_NO),
            (
                "elevator-number", "string", False, "电梯编号（轿厢内铭牌）",
                "Lift number (on the plate inside the car)", [],
            ),
        ],
    ),
    (
        "fire-passage", "消防通道堵塞", "Blocked fire passage", G_SAFETY,
        "消防通道、楼道被车辆或杂物占用", "A fire lane or stairwell blocked by vehicles or clutter",
        "消防通道,楼道,堵塞,占用,fire", COMMITTEE, "chengguan", 4, 48, [],
    ),
    (
        "ebike-charging", "飞线充电", "Unsafe e-bike charging", G_SAFETY,
        "电动自行车私拉电线、入户或楼道充电",
        "E-bikes charged on trailing cables, indoors or in stairwells",
        "飞线,充电,电动车,电瓶车,e-bike", PROPERTY, "xiaofang", 24, 72, [],
    ),
    (
        "illegal-building", "违法搭建", "Illegal construction", G_FACILITY,
        "私搭乱建、违规改建、占用公共空间",
        "Unauthorised building, alterations or use of common space",
        "违建,搭建,加盖,改建,illegal", DEPARTMENT, "chengguan", 24, 168, [],
    ),
    (
        "greenery", "绿化养护", "Green space upkeep", G_ENV,
        "树木、草坪缺乏养护或被毁坏", "Trees, lawns or beds neglected or damaged",
        "绿化,树木,草坪,修剪,greenery", PROPERTY, "chengguan", 24, 168, [],
    ),
    (
        "parking", "停车管理", "Parking", G_ORDER,
        "乱停车、占用车位或通道", "Badly parked vehicles, taken spaces or blocked lanes",
        "停车,车位,乱停,parking", PROPERTY, "paichusuo", 24, 72, [],
    ),
    (
        "street-light", "路灯照明", "Street lighting", G_FACILITY,
        "路灯、楼道灯不亮或损坏", "Street or stairwell lights out or broken",
        "路灯,楼道灯,照明,不亮,light", PROPERTY, "chengguan", 24, 72, [],
    ),
    (
        "water-leak", "漏水", "Water leak", G_FACILITY,
        "屋顶、墙面、管道渗漏水", "Water leaking from a ceiling, a wall or a pipe",
        "漏水,渗水,水管,爆管,leak", PROPERTY, "fangguan", 24, 72,
        [
            (
                "where", "singlevaluelist", False, "哪里漏水？", "Where is the leak?",
                [
                    {"key": "ceiling", "name_zh": "天花板", "name_en": "Ceiling"},
                    {"key": "wall", "name_zh": "墙面", "name_en": "Wall"},
                    {"key": "pipe", "name_zh": "管道", "name_en": "Pipe"},
                ],
            ),
        ],
    ),
    (
        "public-facility", "公共设施损坏", "Damaged public facility", G_FACILITY,
        "健身器材、座椅、门禁、井盖等损坏",
        "Broken fitness equipment, benches, entry gates, manhole covers",
        "设施,损坏,井盖,门禁,健身器材,facility", PROPERTY, "chengguan", 24, 168, [],
    ),
    (
        "other", "其他", "Other", G_OTHER,
        "以上类别都不合适的问题", "Anything the other categories do not cover",
        "其他,other", COMMITTEE, "chengguan", 24, 168, [],
    ),
]

CODES = [row[0] for row in CATEGORIES]


def seed(apps, schema_editor):
    Category = apps.get_model("issues", "Category")
    CategoryAttribute = apps.get_model("issues", "CategoryAttribute")
    for position, row in enumerate(CATEGORIES, start=1):
        (code, name_zh, name_en, group, desc_zh, desc_en, keywords, handler, department,
         ack, resolve, attributes) = row
        category, _created = Category.objects.update_or_create(
            code=code,
            defaults={
                "name_zh": name_zh,
                "name_en": name_en,
                "group_zh": group[0],
                "group_en": group[1],
                "description_zh": desc_zh,
                "description_en": desc_en,
                "keywords": keywords,
                "handler_kind": handler,
                "department_code": department,
                "acknowledge_hours": ack,
                "resolve_hours": resolve,
                "active": True,
                "position": position * 10,
            },
        )
        for attr_position, (attr_code, datatype, required, q_zh, q_en, values) in enumerate(
            attributes, start=1
        ):
            CategoryAttribute.objects.update_or_create(
                category=category,
                code=attr_code,
                defaults={
                    "datatype": datatype,
                    "required": required,
                    "description_zh": q_zh,
                    "description_en": q_en,
                    "values": values,
                    "position": attr_position * 10,
                },
            )


def unseed(apps, schema_editor):
    Category = apps.get_model("issues", "Category")
    Issue = apps.get_model("issues", "Issue")
    used = Issue.objects.filter(category__code__in=CODES).values("category_id")
    Category.objects.filter(code__in=CODES).exclude(pk__in=used).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("issues", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(seed, unseed),
    ]
