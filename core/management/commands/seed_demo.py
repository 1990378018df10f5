"""``manage.py seed_demo [--scale normal|district] [--force]``: load the demo data.

Runs ``seed(ctx)`` of every project app's ``demo`` module in INSTALLED_APPS
order (see core.demo). Idempotent: a second run adds nothing. Refuses to run
when DEBUG is off (a production database) unless ``--force`` is given.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.demo import DEFAULT_BATCH_SIZE, DEFAULT_SEED, NORMAL, SCALES, DemoContext, demo_modules


class Command(BaseCommand):
    help = gettext_lazy(
        "Load the demo data (a district, its places and the demo logins). "
        "Idempotent; refuses to run with DEBUG off unless --force is given."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--scale",
            choices=SCALES,
            default=NORMAL,
            help=gettext_lazy(
                "normal: 4 neighbourhoods, 3,000 dwellings; "
                "district: the size of Baoshan, 557 neighbourhoods, ~400,000 dwellings."
            ),
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help=gettext_lazy("Run even though DEBUG is off."),
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=DEFAULT_SEED,
            help=gettext_lazy("Seed of the random generator (the data is deterministic)."),
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DEFAULT_BATCH_SIZE,
            help=gettext_lazy("Rows per bulk insert."),
        )

    def handle(self, *args, **options):
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                _(
                    "Refusing to load demo data because DEBUG is off (this looks like a "
                    "production site). Use --force if you really mean it."
                )
            )
        if options["batch_size"] < 1:
            raise CommandError(_("--batch-size must be at least 1."))
        ctx = DemoContext(
            scale=options["scale"],
            seed=options["seed"],
            batch_size=options["batch_size"],
            verbosity=options["verbosity"],
            stdout=self.stdout,
        )
        ctx.log(_("Loading the demo data (scale: %(scale)s)…") % {"scale": ctx.scale})
        for label, module in demo_modules():
            ctx.log(f"{label}:")
            module.seed(ctx)
        ctx.log(
            self.style.SUCCESS(
                _("Demo data ready in %(seconds).1f s.") % {"seconds": ctx.elapsed()}
            )
        )
