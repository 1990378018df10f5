"""Volunteers: teams, activities, sign-ups and volunteer logs. Built in its own issue."""
