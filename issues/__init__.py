"""Issues (件件有答复, 事事有着落): reports, routing, SLA, Open311. Built in its own issue."""
