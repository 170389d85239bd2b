# Boot entry of the ESP32-CAM: camera + flash LED, HTTP /capture and /status,
# MQTT status with last will. Needs a MicroPython build with the `camera`
# module (docs/hardware.md) and umqtt.simple: mip.install("umqtt.simple").
import gc

import camera
import machine
import network
from camserver import CameraDriver, CaptureServer
from link import Link

VERSION = "0.1.0"


class CameraApp:
    def __init__(self, server, link, wdt=None):
        self.server = server
        self.link = link
        self._wdt = wdt
        link.status_extra = self.status

    def status(self):
        return {
            "device": "camera",
            "version": self.server.version,
            "port": self.server.port,
            "camera": self.server.camera.ready,
        }

    def step(self):
        if self._wdt is not None:
            self._wdt.feed()
        if self.link is not None:
            self.link.ensure()
            self.link.poll()
        self.server.serve_once()
        gc.collect()

    def run(self, stop=None):
        while stop is None or not stop():
            self.step()


def build(cfg):
    wdt = machine.WDT(timeout=cfg.WDT_TIMEOUT_MS)
    flash = machine.Pin(cfg.FLASH_PIN, machine.Pin.OUT, value=0)
    cam = CameraDriver(camera, framesize=cfg.FRAMESIZE, quality=cfg.JPEG_QUALITY)
    cam.init()
    server = CaptureServer(
        cam,
        flash,
        port=cfg.HTTP_PORT,
        flash_default=cfg.FLASH_DEFAULT,
        flash_warmup_ms=cfg.FLASH_WARMUP_MS,
        version=VERSION,
    )
    link = Link(
        network.WLAN(network.STA_IF),
        ssid=cfg.WIFI_SSID,
        wifi_password=cfg.WIFI_PASSWORD,
        server=cfg.MQTT_HOST,
        port=cfg.MQTT_PORT,
        user=cfg.MQTT_USER,
        password=cfg.MQTT_PASSWORD,
        client_id="tokenmeter-" + cfg.METER_ID + "-camera",
        prefix=cfg.MQTT_PREFIX,
        meter=cfg.METER_ID,
        status_leaf="camera/status",
        will_extra={"device": "camera"},
        keepalive=cfg.MQTT_KEEPALIVE_S,
        clean_session=True,
        feed=wdt.feed,
    )
    return CameraApp(server, link, wdt)


def main():
    import config_local

    app = build(config_local)
    app.link.ensure()  # Wi-Fi first: the HTTP server needs the interface up
    app.server.open()
    app.run()


if __name__ == "__main__":
    main()
