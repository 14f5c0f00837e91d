"""Completion dashboards for DPS, donors, coordinators, validators and instructors; reads everything."""
