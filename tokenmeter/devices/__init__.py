"""Device links: camera snapshots, MQTT keypad, local broker, simulators."""
