"""Where readings, schedules, top-ups and device states live."""

from tokenmeter.store.base import ScheduleCallback, Store, Subscription

__all__ = ["ScheduleCallback", "Store", "Subscription"]
