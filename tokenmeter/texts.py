"""User-facing sentences shared by every door, Indonesian by default, English selectable."""

from __future__ import annotations

import re
from typing import Literal

from tokenmeter.config_problem import FILE_KEY, METER_ID_PATTERN
from tokenmeter.errors import (
    CameraUnavailable,
    CredentialsInvalid,
    HandoffFailed,
    InvalidToken,
    TokenmeterError,
)

Lang = Literal["id", "en"]

_CAMERA_REASONS: dict[str, dict[str, str]] = {
    "unreachable": {
        "id": "Kamera tidak bisa dihubungi atau tidak menjawab tepat waktu. "
        "Periksa daya dan Wi-Fi ESP32-CAM.",
        "en": "The camera could not be reached or did not answer in time. "
        "Check the ESP32-CAM's power and Wi-Fi.",
    },
    "http_error": {
        "id": "Kamera menjawab dengan kesalahan (HTTP {status}). Coba nyalakan ulang ESP32-CAM.",
        "en": "The camera answered with an error (HTTP {status}). Try restarting the ESP32-CAM.",
    },
    "not_photo": {
        "id": "Kamera menjawab, tetapi yang dikirim bukan foto yang bisa dipakai. "
        "Pastikan camera_url adalah alamat /capture ESP32-CAM.",
        "en": "The camera answered, but what it sent is not a usable photo. "
        "Check that camera_url is the ESP32-CAM's /capture address.",
    },
    "too_large": {
        "id": "Jawaban kamera terlalu besar untuk sebuah foto. "
        "Pastikan camera_url adalah alamat /capture ESP32-CAM.",
        "en": "The camera's answer is too large to be a photo. "
        "Check that camera_url is the ESP32-CAM's /capture address.",
    },
}

_CREDENTIALS_REASONS: dict[str, dict[str, str]] = {
    "missing": {
        "id": "Berkas kredensial Firebase {path} tidak ada atau tidak bisa dibaca. "
        "Periksa [store] firebase_credentials atau GOOGLE_APPLICATION_CREDENTIALS.",
        "en": "The Firebase credentials file {path} does not exist or cannot be read. "
        "Check [store] firebase_credentials or GOOGLE_APPLICATION_CREDENTIALS.",
    },
    "not_json": {
        "id": "Berkas kredensial Firebase {path} bukan JSON yang valid. "
        "Unduh ulang kunci akun layanan dari Firebase Console.",
        "en": "The Firebase credentials file {path} is not valid JSON. "
        "Download the service-account key again from the Firebase console.",
    },
    "not_service_account": {
        "id": "Berkas kredensial Firebase {path} bukan kunci akun layanan "
        "(perlu type = service_account, project_id, private_key, client_email).",
        "en": "The Firebase credentials file {path} is not a service-account key "
        "(it needs type = service_account, project_id, private_key, client_email).",
    },
    "none": {
        "id": "Tidak ada kredensial Google untuk Firebase. Isi [store] firebase_credentials "
        "dengan berkas kunci akun layanan, atau set GOOGLE_APPLICATION_CREDENTIALS.",
        "en": "No Google credentials for Firebase. Set [store] firebase_credentials to a "
        "service-account key file, or set GOOGLE_APPLICATION_CREDENTIALS.",
    },
}

_HANDOFF_REASONS: dict[str, dict[str, str]] = {
    "refused": {
        "id": "Layanan tokenmeter yang berjalan menolak permintaan ini (kunci serah-terima "
        "tidak cocok). Tidak ada yang diketik. Coba lagi; jika tetap ditolak, mulai ulang "
        "layanan.",
        "en": "The running tokenmeter service refused this request (the hand-off secret "
        "does not match). Nothing was typed. Try again; if it is refused again, restart "
        "the service.",
    },
    "no_access": {
        "id": "Layanan tokenmeter sedang berjalan, tetapi pengguna ini tidak bisa "
        "menghubunginya ({path}). Tidak ada yang diketik. Jalankan perintah sebagai "
        "pengguna layanan, misalnya sudo -u tokenmeter.",
        "en": "A tokenmeter service is running, but this user cannot reach it ({path}). "
        "Nothing was typed. Run the command as the service's user, for example "
        "sudo -u tokenmeter.",
    },
    "lost": {
        "id": "Layanan berhenti menjawab sebelum hasil isi token diketahui. Token yang "
        "sudah dicatat dilanjutkan oleh layanan (juga setelah dimulai ulang) dan tidak "
        "diketik dua kali; lihat tokenmeter status.",
        "en": "The service stopped answering before the top-up's result was known. A "
        "token it recorded goes on there (also after a restart) and is never typed "
        "twice; see tokenmeter status.",
    },
}

_ERRORS: dict[str, dict[str, str]] = {
    "camera_unavailable": _CAMERA_REASONS["unreachable"],
    "unreadable": {
        "id": "Foto diambil, tetapi angka di layar meter tidak terbaca dengan pasti.",
        "en": "The photo was taken, but the meter display could not be read with confidence.",
    },
    "device_offline": {
        "id": "Perangkat keypad sedang offline. Token diantrekan dan dikirim saat online.",
        "en": "The keypad device is offline. The token is queued and goes out when it returns.",
    },
    "unknown_meter": {
        "id": "Meter {meter} tidak dikenal.",
        "en": "Meter {meter} is not known.",
    },
    "invalid_schedule": {
        "id": "Jam {time} tidak valid. Gunakan format JJ:MM, misalnya 06:00 atau 18:30.",
        "en": "{time} is not a valid time. Use HH:MM, for example 06:00 or 18:30.",
    },
    "store_unavailable": {
        "id": "Penyimpanan data sedang tidak tersedia. Coba lagi sebentar lagi.",
        "en": "The data store is unavailable right now. Please try again shortly.",
    },
    "broker_unavailable": {
        "id": "Server MQTT tidak bisa dihubungi.",
        "en": "The MQTT broker could not be reached.",
    },
    "port_unavailable": {
        "id": "Alamat {host}:{port} untuk /healthz tidak bisa dipakai; mungkin sudah dipakai "
        "program lain (tokenmeter serve yang lain?). Ganti [service] health_port, atau 0 "
        "untuk mematikannya.",
        "en": "The address {host}:{port} for /healthz cannot be used; another program "
        "(another tokenmeter serve?) may hold it. Change [service] health_port, or 0 to "
        "turn it off.",
    },
    "config_invalid": {
        "id": "Konfigurasi tidak valid: {detail}",
        "en": "The configuration is invalid: {detail}",
    },
    "error": {
        "id": "Terjadi kesalahan. Silakan coba lagi.",
        "en": "Something went wrong. Please try again.",
    },
}

_TOKEN_REASONS: dict[str, dict[str, str]] = {
    "empty": {
        "id": "Token kosong. Kirim 20 digit token.",
        "en": "The token is empty. Send 20 digits.",
    },
    "not_digits": {
        "id": "Token hanya boleh berisi angka (20 digit).",
        "en": "A token may contain digits only (20 of them).",
    },
    "length": {
        "id": "Token harus 20 digit, yang dikirim {count} digit.",
        "en": "A token has 20 digits; this one has {count}.",
    },
    "too_large": {
        "id": "Token tidak valid: nilainya di luar rentang token PLN (STS).",
        "en": "Invalid token: its value is outside the PLN (STS) token range.",
    },
    "already_used": {
        "id": "Token ini sudah pernah dipakai untuk meter ini. Tidak diketik lagi.",
        "en": "This token was already used for this meter. It will not be typed again.",
    },
}


_TOPUP_NO_ANSWER: dict[str, str] = {
    "id": "Keypad tidak menjawab: belum pasti token {masked} sudah diketik. Token disimpan "
    "dan ditanyakan lagi ke keypad saat tersambung; tidak akan diketik dua kali.",
    "en": "The keypad did not answer: it is not known yet whether token {masked} was typed. "
    "It is kept and the keypad is asked again when it is back; it is never typed twice.",
}


def topup_no_answer(masked: str, lang: Lang = "id") -> str:
    """A top-up sent without an answer from the keypad (``SENT``, ``no_answer``): open."""
    return _TOPUP_NO_ANSWER[lang].format(masked=masked)


def format_number(value: float, decimals: int, lang: Lang = "id") -> str:
    """``value`` with ``decimals`` places and thousands grouped in the language's way:
    ``1.234,5`` in Indonesian, ``1,234.5`` in English."""
    text = f"{value:,.{decimals}f}"  # 1,234.56
    if lang == "id":
        text = text.replace(",", "_").replace(".", ",").replace("_", ".")  # 1.234,56
    return text


def format_kwh(value: float | None, lang: Lang = "id") -> str:
    """Format kWh with two decimals: ``123,45`` in Indonesian, ``123.45`` in English."""
    if value is None:
        return "-"
    return format_number(value, 2, lang)


def error_sentence(err: TokenmeterError, lang: Lang = "id") -> str:
    """Turn a domain error into one plain sentence for a user."""
    params: dict[str, object] = {"detail": err.detail, **err.params}
    problems = err.params.get("problems") if err.code == "config_invalid" else None
    if isinstance(problems, list) and problems:  # a ConfigError: its problems in lang
        params["detail"] = config_problems_text(problems, lang)
    if isinstance(err, InvalidToken):
        template = _TOKEN_REASONS.get(err.reason, _ERRORS["error"])[lang]
    elif isinstance(err, CredentialsInvalid):
        template = _CREDENTIALS_REASONS[err.reason][lang]
    elif isinstance(err, HandoffFailed):
        template = _HANDOFF_REASONS[err.reason][lang]
    elif isinstance(err, CameraUnavailable):
        template = _CAMERA_REASONS.get(err.reason, _CAMERA_REASONS["unreachable"])[lang]
    else:
        template = _ERRORS.get(err.code, _ERRORS["error"])[lang]
    try:
        return template.format(**params)
    except (KeyError, IndexError):
        return _ERRORS.get(err.code, _ERRORS["error"])[lang].split("{")[0].strip()


# -- configuration problems (config check, start-up) -------------------------------------
_CONFIG_PROBLEMS: dict[str, dict[Lang, str]] = {
    # pydantic's error types
    "extra_forbidden": {"id": "kunci tidak dikenal", "en": "unknown key"},
    "missing": {"id": "wajib diisi", "en": "required"},
    "greater_than_equal": {"id": "harus ≥ {ge}", "en": "must be ≥ {ge}"},
    "greater_than": {"id": "harus > {gt}", "en": "must be > {gt}"},
    "less_than_equal": {"id": "harus ≤ {le}", "en": "must be ≤ {le}"},
    "less_than": {"id": "harus < {lt}", "en": "must be < {lt}"},
    "int_parsing": {"id": "harus bilangan bulat", "en": "must be a whole number"},
    "float_parsing": {"id": "harus angka", "en": "must be a number"},
    "bool_parsing": {"id": "harus true atau false", "en": "must be true or false"},
    "string_type": {"id": "harus teks dalam tanda kutip", "en": "must be text in quotes"},
    "list_type": {"id": "harus daftar, [ … ]", "en": "must be a list, [ … ]"},
    "model_type": {"id": "harus tabel, [ … ]", "en": "must be a table, [ … ]"},
    "literal_error": {"id": "harus salah satu dari {expected}", "en": "must be one of {expected}"},
    "string_pattern_mismatch": {
        "id": "tidak cocok dengan pola {pattern}",
        "en": "does not match the pattern {pattern}",
    },
    "meter_id": {
        "id": "hanya huruf, angka, - dan _ (1-40 karakter)",
        "en": "letters, digits, - and _ only (1-40 characters)",
    },
    "string_too_short": {
        "id": "paling sedikit {min_length} karakter",
        "en": "at least {min_length} characters",
    },
    "string_too_long": {
        "id": "paling banyak {max_length} karakter",
        "en": "at most {max_length} characters",
    },
    "name_length": {"id": "1-{max} karakter", "en": "1-{max} characters"},
    "csv_missing_column": {
        "id": "kolom ini tidak ada di baris judul",
        "en": "missing column",
    },
    "csv_unknown_column": {"id": "kolom tidak dikenal", "en": "unknown column"},
    "too_short": {"id": "paling sedikit {min_length} entri", "en": "at least {min_length} entries"},
    "too_long": {"id": "paling banyak {max_length} entri", "en": "at most {max_length} entries"},
    # the project's own checks
    "mqtt_url": {
        "id": "gunakan mqtt://host:1883 atau mqtts://host:8883 (kosong = broker lokal dijalankan)",
        "en": "use mqtt://host:1883 or mqtts://host:8883 (empty = start a local broker)",
    },
    "camera_url": {
        "id": "gunakan http://<kamera>/capture (atau https://), atau sim: untuk simulator",
        "en": "use http://<camera>/capture (or https://), or sim: for a simulator",
    },
    "roi": {
        "id": "harus 8 angka x1,y1,…,x4,y4 (kiri atas, kanan atas, kanan bawah, kiri bawah) "
        "yang melingkupi sebuah bidang, atau []",
        "en": "{detail}",
    },
    "decimals": {
        "id": "harus 0-{max} atau 'auto'",
        "en": "decimals must be 0-{max} or 'auto'",
    },
    "timezone": {"id": "zona waktu '{value}' tidak dikenal", "en": "unknown timezone '{value}'"},
    "schedule": {
        "id": "jam '{time}' tidak valid (gunakan JJ:MM, 00:00-23:59)",
        "en": "bad time '{time}' (use HH:MM, 00:00-23:59)",
    },
    "meter_twice": {
        "id": "id meter '{id}' muncul dua kali",
        "en": "meter id '{id}' appears twice",
    },
    "firebase_url_required": {
        "id": "wajib diisi bila store.backend = 'firebase'",
        "en": "required when store.backend = 'firebase'",
    },
    "firebase_url": {
        "id": "gunakan https://<db>.firebaseio.com, atau http://host:port/?ns=<nama> "
        "untuk emulator",
        "en": "use https://<db>.firebaseio.com, or http://host:port/?ns=<name> for an emulator",
    },
    "credentials_missing": {
        "id": "{path}: tidak ada atau tidak bisa dibaca",
        "en": "{path}: no such file or not readable ({detail})",
    },
    "credentials_not_json": {
        "id": "{path}: bukan JSON",
        "en": "{path}: not JSON ({detail})",
    },
    "credentials_not_service_account": {
        "id": "{path}: bukan kunci akun layanan (tidak ada {fields})",
        "en": "{path}: not a service-account key ({detail})",
    },
    "data_under_etc": {
        "id": "{path} ada di bawah /etc; berikan jalur absolut, misalnya {suggestion}",
        "en": "{path} is under /etc; give an absolute path such as {suggestion}",
    },
    "blynk_token": {
        "id": "wajib diisi bila blynk.transport = '{transport}' (atau set {env})",
        "en": "required when blynk.transport = '{transport}' (or set {env})",
    },
    "blynk_meter": {
        "id": "'{meter}' bukan meter yang dikenal (yang ada: {known})",
        "en": "'{meter}' is not a configured meter (known: {known})",
    },
    "blynk_pin": {
        "id": "pin '{pin}' bukan pin virtual: gunakan V0..V255",
        "en": "pin '{pin}': use V0..V255",
    },
    "file_not_found": {"id": "berkas tidak ditemukan", "en": "file not found"},
    "file_unreadable": {
        "id": "berkas tidak bisa dibaca ({detail})",
        "en": "cannot be read ({detail})",
    },
    "not_toml": {"id": "bukan TOML yang valid{where}", "en": "not valid TOML: {detail}"},
}
# pydantic error types told like another one
_CONFIG_PROBLEM_ALIASES = {
    "int_type": "int_parsing",
    "int_from_float": "int_parsing",
    "float_type": "float_parsing",
    "bool_type": "bool_parsing",
    "dict_type": "model_type",
    "model_attributes_type": "model_type",
}
"""The pattern of a meter id (``MeterConfig.id``)."""
_TOML_WHERE = re.compile(r"\(at line (\d+), column (\d+)\)")


def _problem_value(value: object, lang: Lang) -> str:
    """A number from a problem's context in the language's way (``0,5``); else as is."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if float(value).is_integer():
        return str(int(value))
    return format_number(float(value), len(repr(float(value)).split(".")[1]), lang)


def config_problem_text(problem: tuple[str, str], lang: Lang = "id") -> str:
    """What is wrong with one config key, in ``lang`` (without the key). A problem
    without a known code (a plain pair) is told with its message as written."""
    code = str(getattr(problem, "code", ""))
    code = _CONFIG_PROBLEM_ALIASES.get(code, code)
    if code not in _CONFIG_PROBLEMS:
        return problem[1]
    params = {
        name: _problem_value(value, lang)
        for name, value in dict(getattr(problem, "params", {})).items()
    }
    if code == "literal_error" and lang == "id":
        params["expected"] = params.get("expected", "").replace(" or ", " atau ")
    if code == "string_pattern_mismatch" and params.get("pattern") == METER_ID_PATTERN:
        code = "meter_id"
    if code == "string_too_short" and params.get("min_length") == "1":
        return {"id": "tidak boleh kosong", "en": "must not be empty"}[lang]
    if code == "credentials_not_service_account":
        params["fields"] = params.get("detail", "").removeprefix("no ")
    if code == "not_toml":
        where = _TOML_WHERE.search(params.get("detail", ""))
        params["where"] = f" (baris {where[1]}, kolom {where[2]})" if where else ""
    try:
        return _CONFIG_PROBLEMS[code][lang].format(**params)
    except (KeyError, IndexError):
        return problem[1]


def config_problem_line(problem: tuple[str, str], lang: Lang = "id") -> str:
    """``key: what is wrong`` (a problem with the file itself: only what is wrong)."""
    text = config_problem_text(problem, lang)
    return text if problem[0] == FILE_KEY else f"{problem[0]}: {text}"


def config_problems_text(problems: list[tuple[str, str]], lang: Lang = "id") -> str:
    """Every problem in one line, ``; `` between them."""
    return "; ".join(config_problem_line(problem, lang) for problem in problems)
