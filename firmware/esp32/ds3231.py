# DS3231 real-time clock on I2C: BCD time registers, temperature, lost-power flag.
# The driver receives its bus (``DS3231(I2C(0, scl=Pin(22), sda=Pin(21)))``).
from micropython import const

_ADDRESS = const(0x68)
_REG_TIME = const(0x00)  # seconds, minutes, hours, weekday, date, month, year
_REG_CONTROL = const(0x0E)
_REG_STATUS = const(0x0F)
_REG_TEMP_MSB = const(0x11)
_STATUS_OSF = const(0x80)  # oscillator stopped: the time is not to be trusted
_HOUR_12H = const(0x40)
_HOUR_PM = const(0x20)
_MONTH_CENTURY = const(0x80)


def bcd_to_int(value):
    return (value >> 4) * 10 + (value & 0x0F)


def int_to_bcd(value):
    if not 0 <= value <= 99:
        raise ValueError("BCD out of range")
    return ((value // 10) << 4) | (value % 10)


class DS3231:
    """Times are tuples ``(year, month, day, hour, minute, second, weekday)``,
    weekday 0 = Monday (as ``time.gmtime()``), 24-hour, years 2000-2099."""

    def __init__(self, i2c, address=_ADDRESS):
        self._i2c = i2c
        self._address = address

    def datetime(self):
        raw = self._i2c.readfrom_mem(self._address, _REG_TIME, 7)
        hour_reg = raw[2]
        if hour_reg & _HOUR_12H:
            hour = bcd_to_int(hour_reg & 0x1F) % 12
            if hour_reg & _HOUR_PM:
                hour += 12
        else:
            hour = bcd_to_int(hour_reg & 0x3F)
        year = 2000 + bcd_to_int(raw[6])
        if raw[5] & _MONTH_CENTURY:
            year += 100
        return (
            year,
            bcd_to_int(raw[5] & 0x1F),
            bcd_to_int(raw[4] & 0x3F),
            hour,
            bcd_to_int(raw[1] & 0x7F),
            bcd_to_int(raw[0] & 0x7F),
            (raw[3] & 0x07) - 1,
        )

    def set_datetime(self, value):
        """Write the time and clear the oscillator-stopped flag."""
        year, month, day, hour, minute, second = value[:6]
        weekday = value[6] if len(value) > 6 else 0
        if not 2000 <= year <= 2099:
            raise ValueError("year out of range")
        buf = bytearray(7)
        buf[0] = int_to_bcd(second)
        buf[1] = int_to_bcd(minute)
        buf[2] = int_to_bcd(hour)  # bit 6 clear: 24-hour mode
        buf[3] = weekday % 7 + 1
        buf[4] = int_to_bcd(day)
        buf[5] = int_to_bcd(month)
        buf[6] = int_to_bcd(year - 2000)
        self._i2c.writeto_mem(self._address, _REG_TIME, buf)
        status = self._i2c.readfrom_mem(self._address, _REG_STATUS, 1)[0]
        self._i2c.writeto_mem(self._address, _REG_STATUS, bytes([status & ~_STATUS_OSF & 0xFF]))

    def lost_power(self):
        """True when the oscillator stopped since the time was last set."""
        return bool(self._i2c.readfrom_mem(self._address, _REG_STATUS, 1)[0] & _STATUS_OSF)

    def temperature(self):
        """Degrees Celsius, 0.25 degree steps (updated by the chip every 64 s)."""
        raw = self._i2c.readfrom_mem(self._address, _REG_TEMP_MSB, 2)
        whole = raw[0] - 256 if raw[0] & 0x80 else raw[0]
        return whole + (raw[1] >> 6) * 0.25


def iso(value):
    """``2026-11-20T06:00:00Z`` from a datetime tuple (the RTC keeps UTC)."""
    year, month, day, hour, minute, second = value[:6]
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}Z"
