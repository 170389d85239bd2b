# Boot entry of the keypad/RTC/buzzer ESP32: build pins and drivers from
# config_local.py, then run the app. Needs umqtt.simple: mip.install("umqtt.simple").
import machine
import network
import ntptime
from app import KeypadApp
from buzzer import BeepDetector
from ds3231 import DS3231
from keypad import CommandJournal, KeypadDriver
from link import Link

VERSION = "0.1.0"

_RESET_CAUSES = {
    "PWRON_RESET": "power_on",
    "HARD_RESET": "hard",
    "WDT_RESET": "watchdog",
    "DEEPSLEEP_RESET": "deepsleep",
    "SOFT_RESET": "soft",
}


def reset_cause_name():
    cause = machine.reset_cause()
    for name, label in _RESET_CAUSES.items():
        if getattr(machine, name, None) == cause:
            return label
    return str(cause)


def build_keypad(cfg, feed=None):
    """Relay pins are created already released, before anything else runs."""
    off = 1 if cfg.RELAY_ACTIVE_LOW else 0
    pins = {
        key: machine.Pin(gpio, machine.Pin.OUT, value=off) for key, gpio in cfg.KEY_PINS.items()
    }
    return KeypadDriver(
        pins,
        active_low=cfg.RELAY_ACTIVE_LOW,
        press_ms=cfg.PRESS_MS,
        gap_ms=cfg.GAP_MS,
        feed=feed,
    )


def build(cfg, *, journal_path="keypad_ids.json", schedule_path="schedule.json"):
    """Every object the app needs, from the settings module ``cfg``."""
    wdt = machine.WDT(timeout=cfg.WDT_TIMEOUT_MS)
    keypad = build_keypad(cfg, feed=wdt.feed)
    i2c = machine.I2C(
        cfg.I2C_ID,
        scl=machine.Pin(cfg.I2C_SCL),
        sda=machine.Pin(cfg.I2C_SDA),
        freq=cfg.I2C_FREQ,
    )
    beeps = BeepDetector(
        machine.Pin(cfg.BUZZER_PIN, machine.Pin.IN),
        active_high=cfg.BUZZER_ACTIVE_HIGH,
        debounce_ms=cfg.BUZZER_DEBOUNCE_MS,
        cooldown_ms=cfg.BUZZER_COOLDOWN_MS,
    )
    ntptime.host = cfg.NTP_HOST
    link = Link(
        network.WLAN(network.STA_IF),
        ssid=cfg.WIFI_SSID,
        wifi_password=cfg.WIFI_PASSWORD,
        server=cfg.MQTT_HOST,
        port=cfg.MQTT_PORT,
        user=cfg.MQTT_USER,
        password=cfg.MQTT_PASSWORD,
        client_id="tokenmeter-" + cfg.METER_ID + "-keypad",
        prefix=cfg.MQTT_PREFIX,
        meter=cfg.METER_ID,
        keepalive=cfg.MQTT_KEEPALIVE_S,
        feed=wdt.feed,
    )
    return KeypadApp(
        link=link,
        keypad=keypad,
        journal=CommandJournal(journal_path),
        rtc=DS3231(i2c),
        beeps=beeps,
        ntp=ntptime,
        machine_rtc=machine.RTC(),
        wdt=wdt,
        version=VERSION,
        tz_offset_min=cfg.TZ_OFFSET_MIN,
        clear_presses=cfg.CLEAR_PRESSES,
        rtc_check_always=cfg.RTC_CHECK_ALWAYS,
        schedule_path=schedule_path,
        reset_cause=reset_cause_name(),
    )


def main():
    import config_local

    build(config_local).run()


if __name__ == "__main__":
    main()
