# Site settings for the keypad/RTC/buzzer ESP32. Copy to config_local.py (git-ignored),
# fill in, then `mpremote cp config_local.py :`. Pin numbers are GPIO numbers of a
# 38-pin ESP32 DevKit (ESP32-WROOM-32); see docs/hardware.md for the wiring.

# Wi-Fi
WIFI_SSID = "my-wifi"
WIFI_PASSWORD = "change-me"

# MQTT broker: the PC's mosquitto on the LAN as 'tokenmeter install-service' sets it up
# (listener 1883, no anonymous clients). Every board logs in as the user "meter" with
# MQTT_PASSWORD from /etc/tokenmeter/boards.env on the PC (sudo cat it).
MQTT_HOST = "192.168.1.10"  # the PC's LAN address
MQTT_PORT = 1883
MQTT_USER = "meter"
MQTT_PASSWORD = "change-me"  # MQTT_PASSWORD from /etc/tokenmeter/boards.env
MQTT_PREFIX = "tokenmeter"  # {prefix}/{meter}/keypad/cmd, ... (same as [mqtt] prefix on the PC)
MQTT_KEEPALIVE_S = 30
METER_ID = "rumah"  # the [[meters]] id on the PC

# Relays (one per key). Most 5 V relay boards are active-low: IN = 0 pulls the relay.
# These GPIOs do not glitch at boot (avoid 0, 2, 5, 12, 14, 15 for relays).
KEY_PINS = {
    "0": 13,
    "1": 16,
    "2": 17,
    "3": 18,
    "4": 19,
    "5": 23,
    "6": 25,
    "7": 26,
    "8": 27,
    "9": 32,
    "enter": 33,
    "backspace": 4,
}
RELAY_ACTIVE_LOW = True
PRESS_MS = 65  # solenoid held down
GAP_MS = 500  # between two presses (the meter's keypad scan + beep)
CLEAR_PRESSES = 0  # Backspace presses before each token (clears a half-typed entry)

# DS3231 RTC on I2C bus 0 (the module has its own pull-ups)
I2C_ID = 0
I2C_SDA = 21
I2C_SCL = 22
I2C_FREQ = 100000

# Sound sensor (KY-038 "DO" or a piezo pickup + comparator) on an input-only pin
BUZZER_PIN = 34
BUZZER_ACTIVE_HIGH = True
BUZZER_DEBOUNCE_MS = 40  # sound must last this long to count as a beep
BUZZER_COOLDOWN_MS = 60000  # at most one beep event per minute

# Time
NTP_HOST = "pool.ntp.org"
TZ_OFFSET_MIN = 420  # local time of the schedule: Asia/Jakarta = UTC+7 (WITA 480, WIT 540)
RTC_CHECK_ALWAYS = False  # True: publish rtc_check at every slot, not only when offline

# Watchdog: resets the board if the loop stalls (keep above a Wi-Fi/MQTT connect)
WDT_TIMEOUT_MS = 60000
