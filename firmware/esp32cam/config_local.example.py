# Site settings for the ESP32-CAM (AI-Thinker). Copy to config_local.py (git-ignored),
# fill in, then `mpremote cp config_local.py :`. See docs/hardware.md.

WIFI_SSID = "my-wifi"
WIFI_PASSWORD = "change-me"

# MQTT broker: the PC's mosquitto on the LAN as 'tokenmeter install-service' sets it up
# (listener 1883, no anonymous clients); the same login as the keypad board.
MQTT_HOST = "192.168.1.10"  # the PC's LAN address
MQTT_PORT = 1883
MQTT_USER = "meter"
MQTT_PASSWORD = "change-me"  # MQTT_PASSWORD from /etc/tokenmeter/boards.env
MQTT_PREFIX = "tokenmeter"
MQTT_KEEPALIVE_S = 30
METER_ID = "rumah"  # status goes to {prefix}/{meter}/camera/status

HTTP_PORT = 80  # the PC's camera_url = "http://<this board>/capture"
FRAMESIZE = "SVGA"  # 800x600; "VGA" = 640x480 if frames come out torn or memory is short
JPEG_QUALITY = 12  # 10 (best) .. 63
FLASH_PIN = 4  # the on-board white LED (through a transistor)
FLASH_DEFAULT = True  # /capture without ?flash= uses the flash
FLASH_WARMUP_MS = 150  # LED on this long before the frame is grabbed

WDT_TIMEOUT_MS = 60000
