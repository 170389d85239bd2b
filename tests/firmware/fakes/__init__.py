"""Fake MicroPython modules (machine, network, camera, umqtt.simple, time, gc, ...)
that let the firmware's real modules run under CPython and record what they do."""
