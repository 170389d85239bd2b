"""The bot's sentences, Indonesian by default and English selectable."""

from __future__ import annotations

from tokenmeter.texts import Lang

_TEXTS: dict[str, dict[str, str]] = {
    "help": {
        "id": (
            "Halo! Bot ini memantau meter listrik prabayar (token PLN): memotret layar "
            "meter, mencatat sisa kWh, memberi peringatan sebelum token habis, dan "
            "mengetik token baru lewat keypad.\n\n"
            "/cektoken [meter] — cek sisa token sekarang (dengan foto)\n"
            "/status [meter] — pembacaan terakhir dan status perangkat\n"
            "/riwayat [meter] [n] — n pembacaan terakhir (bawaan 10)\n"
            "/grafik [meter] [hari] — grafik saldo dan pemakaian harian\n"
            "/jadwal [meter] [06:00 18:00] — lihat atau atur jadwal cek\n"
            "/isi [meter] <token> — isi token 20 digit (atau tempel saja tokennya)\n"
            "/batas [meter] <kWh> — batas peringatan saldo rendah\n"
            "/ringkasan — semua meter: saldo, sisa hari, cek terakhir, perangkat\n"
            "/ekspor [meter] [YYYY-MM] — catatan dan pemakaian per bulan (CSV)\n"
            "/atur [meter] — atur kamera: foto dengan kotak layar, lalu konfirmasi angkanya\n"
            "/koreksi 123,45 [meter] — koreksi pembacaan terakhir dengan angka di layar\n"
            "/akses — siapa boleh memakai meter mana (pemilik)\n"
            "/bantuan — pesan ini\n\n"
            "Meter: {meters}"
        ),
        "en": (
            "Hello! This bot watches a prepaid electricity meter (PLN token): it "
            "photographs the display, keeps the remaining kWh, warns you before the "
            "credit runs out, and types new tokens on the keypad.\n\n"
            "/check [meter] — check the balance now (with the photo)\n"
            "/status [meter] — last reading and device states\n"
            "/history [meter] [n] — the last n readings (default 10)\n"
            "/chart [meter] [days] — balance and daily usage chart\n"
            "/schedule [meter] [06:00 18:00] — show or set the check times\n"
            "/topup [meter] <token> — enter a 20-digit token (or just paste it)\n"
            "/threshold [meter] <kWh> — low-balance alert threshold\n"
            "/overview — every meter: balance, days left, last check, devices\n"
            "/export [meter] [YYYY-MM] — records and monthly usage (CSV)\n"
            "/setup [meter] — aim the camera: a photo with the display's box, then confirm\n"
            "/correct 123.45 [meter] — correct the last reading with the displayed number\n"
            "/access — who may use which meter (owners)\n"
            "/help — this message\n\n"
            "Meters: {meters}"
        ),
    },
    "refused": {
        "id": "Maaf, bot ini hanya melayani pemilik meter. (ID chat Anda: {chat_id})",
        "en": "Sorry, this bot only serves the meter's owners. (Your chat id: {chat_id})",
    },
    "unknown_text": {
        "id": "Pesan ini tidak saya mengerti. Kirim /bantuan untuk daftar perintah, atau "
        "tempel 20 digit token untuk mengisi.",
        "en": "I did not understand that. Send /help for the commands, or paste a "
        "20-digit token to top up.",
    },
    "unknown_command": {
        "id": "Perintah {command} tidak dikenal. Kirim /bantuan untuk daftar perintah.",
        "en": "Unknown command {command}. Send /help for the commands.",
    },
    "choose_meter": {"id": "Pilih meter:", "en": "Choose a meter:"},
    # -- people and permissions (/akses) --
    "no_meters": {
        "id": "Belum ada meter untuk chat ini. Minta pemilik menambahkannya dengan /akses.",
        "en": "No meter is given to this chat yet. Ask the owner to add one with /access.",
    },
    "not_your_meter": {
        "id": "Meter {meter} bukan untuk chat ini.",
        "en": "Meter {meter} is not for this chat.",
    },
    "owner_only": {
        "id": "Hanya pemilik yang dapat melakukan ini.",
        "en": "Only an owner can do this.",
    },
    "access_usage": {
        "id": "Pakai: /akses (daftar), /akses tambah <id chat> <meter> [nama], "
        "/akses hapus <id chat> [meter]",
        "en": "Use: /access (list), /access add <chat id> <meter> [name], "
        "/access remove <chat id> [meter]",
    },
    "access_list": {
        "id": "Pemilik: {owners}\nPenyewa:\n{tenants}\n(berkas = dari berkas konfigurasi)",
        "en": "Owners: {owners}\nTenants:\n{tenants}\n(file = from the config file)",
    },
    "access_none": {"id": "(tidak ada)", "en": "(none)"},
    "access_from_file": {"id": "berkas", "en": "file"},
    "access_granted": {
        "id": "Chat {chat_id}{name} sekarang boleh memakai: {meters}.",
        "en": "Chat {chat_id}{name} may now use: {meters}.",
    },
    "access_revoked": {
        "id": "Akses chat {chat_id} diubah. Sisa meter: {meters}.",
        "en": "Access of chat {chat_id} changed. Meters left: {meters}.",
    },
    "access_refused_owner": {
        "id": "Chat {chat_id} adalah pemilik (berkas konfigurasi); pemilik melihat semua meter.",
        "en": "Chat {chat_id} is an owner (config file); owners see every meter.",
    },
    "access_refused_in_file": {
        "id": "Akses chat {chat_id} ini berasal dari berkas konfigurasi; ubah di sana.",
        "en": "This access of chat {chat_id} comes from the config file; change it there.",
    },
    "access_refused_not_found": {
        "id": "Chat {chat_id} tidak punya akses itu.",
        "en": "Chat {chat_id} has no such access.",
    },
    "access_refused_no_store": {
        "id": "Akses tidak dapat disimpan: tidak ada penyimpanan.",
        "en": "Access cannot be saved: there is no store.",
    },
    "page_previous": {"id": "‹ Sebelumnya", "en": "‹ Previous"},
    "export_usage": {
        "id": "Gunakan /ekspor [meter] [YYYY-MM | YYYY-MM-DD YYYY-MM-DD].",
        "en": "Use /export [meter] [YYYY-MM | YYYY-MM-DD YYYY-MM-DD].",
    },
    "export_caption": {
        "id": "Catatan {first} s/d {last} (pemakaian per bulan):",
        "en": "Records {first} to {last} (usage per month):",
    },
    "page_next": {"id": "Berikutnya › ({page}/{pages})", "en": "Next › ({page}/{pages})"},
    "chosen_meter": {"id": "Meter: {meter}", "en": "Meter: {meter}"},
    "choice_expired": {
        "id": "Pilihan ini sudah tidak berlaku. Kirim perintahnya lagi.",
        "en": "This choice has expired. Send the command again.",
    },
    "check_busy": {
        "id": "Meter {meter} sedang difoto, tunggu sebentar.",
        "en": "Meter {meter} is being photographed, one moment.",
    },
    "balance": {"id": "Sisa token: {kwh} kWh", "en": "Remaining: {kwh} kWh"},
    "change": {
        "id": "Sejak cek terakhir: {change} kWh ({ago})",
        "en": "Since the last check: {change} kWh ({ago})",
    },
    "rate": {"id": "Pemakaian: {rate} kWh/hari", "en": "Usage: {rate} kWh/day"},
    "days_left": {
        "id": "Perkiraan habis: ±{days} hari lagi",
        "en": "Runs out in about {days} days",
    },
    "low": {
        "id": "⚠️ Di bawah batas {limit} kWh — segera isi token.",
        "en": "⚠️ Below the {limit} kWh threshold — top up soon.",
    },
    "unverified": {
        "id": "(Pembacaan belum pasti: angkanya tidak wajar dibanding sebelumnya.)",
        "en": "(Unverified reading: the value is implausible compared with the last one.)",
    },
    "no_reading": {
        "id": "Belum ada pembacaan untuk meter {meter}. Kirim /cektoken.",
        "en": "No reading yet for meter {meter}. Send /check.",
    },
    "read_at": {"id": "Dibaca: {when} ({ago})", "en": "Read: {when} ({ago})"},
    "devices": {"id": "Perangkat: {devices}", "en": "Devices: {devices}"},
    "no_devices": {"id": "Perangkat: belum ada kabar", "en": "Devices: not heard from yet"},
    "online": {"id": "online", "en": "online"},
    "offline": {"id": "offline sejak {when}", "en": "offline since {when}"},
    "history_head": {
        "id": "Riwayat {meter} ({count} terakhir):",
        "en": "History of {meter} (last {count}):",
    },
    "history_time": {"id": "Waktu", "en": "Time"},
    "history_source": {"id": "Sumber", "en": "Source"},
    "history_unverified": {
        "id": "? = belum pasti (angkanya tidak wajar dibanding sebelumnya)",
        "en": "? = unverified (the value is implausible compared with the last one)",
    },
    "history_failed": {
        "id": "-✗ = cek gagal (layar tidak terbaca atau kamera tidak bisa dihubungi)",
        "en": "-✗ = check failed (display unreadable or camera not reached)",
    },
    "history_empty": {
        "id": "Belum ada riwayat untuk meter {meter}.",
        "en": "No history yet for meter {meter}.",
    },
    "bad_count": {
        "id": "Jumlah harus angka 1-{most}, misalnya /riwayat 10.",
        "en": "The count must be a number 1-{most}, for example /history 10.",
    },
    "bad_days": {
        "id": "Jumlah hari harus angka 1-{most}, misalnya /grafik 7.",
        "en": "The number of days must be 1-{most}, for example /chart 7.",
    },
    "chart_empty": {
        "id": "Belum ada data {days} hari terakhir untuk meter {meter}.",
        "en": "No data in the last {days} days for meter {meter}.",
    },
    "chart_balance": {"id": "saldo", "en": "balance"},
    "chart_balance_usage": {"id": "saldo dan pemakaian", "en": "balance and usage"},
    "chart_one_reading": {"id": "{when} (1 pembacaan)", "en": "{when} (1 reading)"},
    "chart_minutes": {"id": "{n} menit", "en": "{n} min"},
    "chart_hours": {"id": "{n} jam", "en": "{n} h"},
    "chart_one_day": {"id": "1 hari", "en": "1 day"},
    "chart_days": {"id": "{n} hari", "en": "{n} days"},
    "chart_time": {"id": "Waktu ({zone})", "en": "Time ({zone})"},
    "chart_balance_axis": {"id": "Sisa token (kWh)", "en": "Balance (kWh)"},
    "chart_usage_axis": {"id": "Pemakaian (kWh/hari)", "en": "Usage (kWh/day)"},
    "chart_topup": {"id": "Isi token", "en": "Top-up"},
    "chart_limit": {"id": "Batas {kwh} kWh", "en": "Threshold {kwh} kWh"},
    "chart_no_usage": {
        "id": "Pemakaian harian: belum cukup pembacaan untuk dihitung.",
        "en": "Daily usage: not enough readings yet to work it out.",
    },
    "schedule_show": {
        "id": "Jadwal cek {meter}: {times} ({tz}){off}",
        "en": "Check times for {meter}: {times} ({tz}){off}",
    },
    "schedule_none": {"id": "belum diatur", "en": "not set"},
    "schedule_off": {"id": " — nonaktif", "en": " — disabled"},
    "schedule_saved": {
        "id": "Jadwal cek {meter} disimpan: {times} ({tz}){off}",
        "en": "Check times for {meter} saved: {times} ({tz}){off}",
    },
    "topup_usage": {
        "id": "Kirim: /isi [meter] <token 20 digit>",
        "en": "Send: /topup [meter] <20-digit token>",
    },
    "topup_confirm": {
        "id": "Isi token ke meter {meter}?\nToken: {masked}",
        "en": "Enter this token on meter {meter}?\nToken: {masked}",
    },
    "topup_yes": {"id": "Ya, isi", "en": "Yes, enter it"},
    "topup_no": {"id": "Batal", "en": "Cancel"},
    "topup_cancelled": {
        "id": "Dibatalkan. Token {masked} tidak diketik.",
        "en": "Cancelled. Token {masked} was not typed.",
    },
    "topup_expired": {
        "id": "Konfirmasi ini sudah tidak berlaku. Kirim /isi lagi.",
        "en": "This confirmation has expired. Send /topup again.",
    },
    "topup_starting": {"id": "Memulai isi token {masked}…", "en": "Starting top-up {masked}…"},
    "topup_from": {"id": "Isi token dari {source}", "en": "Top-up from {source}"},
    "limit_show": {
        "id": "Batas saldo rendah meter {meter}: {kwh} kWh. Ubah: /batas [meter] <kWh>",
        "en": "Low-balance threshold of {meter}: {kwh} kWh. Change: /threshold [meter] <kWh>",
    },
    "limit_saved": {
        "id": "Batas saldo rendah meter {meter} disimpan: {kwh} kWh.",
        "en": "Low-balance threshold of {meter} saved: {kwh} kWh.",
    },
    "bad_limit": {
        "id": "Batas harus angka 0-{most} kWh, misalnya /batas 10 atau /batas 7,5.",
        "en": "The threshold must be a number 0-{most} kWh, for example /threshold 10.",
    },
    "alert_low": {
        "id": "⚠️ Sisa token meter {meter} tinggal {kwh} kWh (batas {limit} kWh). Segera isi token.",
        "en": "⚠️ Meter {meter} has only {kwh} kWh left (threshold {limit} kWh). Top up soon.",
    },
    "alert_beep": {
        "id": "🔔 Meter {meter} berbunyi: token hampir habis.",
        "en": "🔔 Meter {meter} is beeping: the credit is almost gone.",
    },
    "alert_offline": {
        "id": "📴 Perangkat {device} meter {meter} offline lebih dari {minutes} menit.",
        "en": "📴 The {device} of meter {meter} has been offline for over {minutes} minutes.",
    },
    "scheduled": {"id": "Cek terjadwal", "en": "Scheduled check"},
    "ago_now": {"id": "baru saja", "en": "just now"},
    "ago_min": {"id": "{n} menit lalu", "en": "{n} min ago"},
    "ago_hour": {"id": "{n} jam lalu", "en": "{n} h ago"},
    "ago_day": {"id": "{n} hari lalu", "en": "{n} days ago"},
}

_DEVICES: dict[str, dict[str, str]] = {
    "camera": {"id": "kamera", "en": "camera"},
    "keypad": {"id": "keypad", "en": "keypad"},
}

_SOURCES: dict[str, dict[str, str]] = {
    "blynk": {"id": "aplikasi Blynk", "en": "the Blynk app"},
    "cli": {"id": "baris perintah", "en": "the command line"},
    "telegram": {"id": "Telegram", "en": "Telegram"},
}

_READING_SOURCES: dict[str, dict[str, str]] = {  # short: a column of /riwayat
    "schedule": {"id": "jadwal", "en": "schedule"},
    "rtc": {"id": "jadwal RTC", "en": "RTC"},
    "telegram": {"id": "Telegram", "en": "Telegram"},
    "cli": {"id": "perintah", "en": "CLI"},
    "topup": {"id": "isi token", "en": "top-up"},
    "blynk": {"id": "Blynk", "en": "Blynk"},
    "demo": {"id": "demo", "en": "demo"},
}

TOPUP_STATES: dict[str, dict[str, str]] = {
    "PENDING": {
        "id": "⏳ Token {masked} dicatat. Membaca saldo awal…",
        "en": "⏳ Token {masked} recorded. Reading the balance first…",
    },
    "QUEUED": {
        "id": "🕓 Perangkat keypad offline. Token {masked} diantrekan dan diketik saat "
        "perangkat online.",
        "en": "🕓 The keypad is offline. Token {masked} is queued and is typed when it returns.",
    },
    "SENT": {
        "id": "⌨️ Token {masked} sedang diketik di meter…",
        "en": "⌨️ Token {masked} is being typed on the meter…",
    },
    "CONFIRMED": {
        "id": "✅ Token {masked} berhasil. Tambahan {credit} kWh ({before} → {after} kWh).",
        "en": "✅ Token {masked} accepted. Added {credit} kWh ({before} → {after} kWh).",
    },
    "UNCONFIRMED": {
        "id": "⚠️ Token {masked} sudah diketik, tetapi tambahan kWh belum terlihat di "
        "layar. Periksa meter (foto terlampir jika ada).",
        "en": "⚠️ Token {masked} was typed, but no added kWh is visible on the display. "
        "Check the meter (photo attached when available).",
    },
    "FAILED": {
        "id": "❌ Keypad gagal mengetik token {masked}{error}. Token belum masuk.",
        "en": "❌ The keypad failed to type token {masked}{error}. No credit was added.",
    },
    "EXPIRED": {
        "id": "⌛ Token {masked} terlalu lama di antrean dan tidak diketik.",
        "en": "⌛ Token {masked} waited too long in the queue and was not typed.",
    },
}


def say(lang: Lang, key: str, **params: object) -> str:
    """The sentence ``key`` in ``lang`` with ``params`` filled in."""
    return _TEXTS[key][lang].format(**params)


def device_name(name: str, lang: Lang) -> str:
    return _DEVICES.get(name, {}).get(lang, name)


def source_name(source: str, lang: Lang) -> str:
    return _SOURCES.get(source, {}).get(lang, source)


def reading_source_name(source: str, lang: Lang) -> str:
    """What started a check, in a word or two (an unknown source as it is, cut short)."""
    return _READING_SOURCES.get(source, {}).get(lang, source[:10])


def format_number(value: float, decimals: int, lang: Lang) -> str:
    """``1.234,5`` in Indonesian, ``1,234.5`` in English."""
    text = f"{value:,.{decimals}f}"
    if lang == "id":
        text = text.replace(",", "_").replace(".", ",").replace("_", ".")
    return text


def format_change(value: float, lang: Lang) -> str:
    """A signed kWh change: ``+1,20`` or ``−1,20``."""
    sign = "+" if value >= 0 else "−"
    return sign + format_number(abs(value), 2, lang)


def format_ago(seconds: float, lang: Lang) -> str:
    """How long ago, in words: ``5 menit lalu``."""
    if seconds < 60:
        return say(lang, "ago_now")
    if seconds < 3600:
        return say(lang, "ago_min", n=int(seconds // 60))
    if seconds < 2 * 86400:
        return say(lang, "ago_hour", n=int(seconds // 3600))
    return say(lang, "ago_day", n=int(seconds // 86400))


COMMANDS: dict[str, list[tuple[str, str]]] = {
    "id": [
        ("cektoken", "Cek sisa token sekarang"),
        ("status", "Pembacaan terakhir dan status perangkat"),
        ("riwayat", "Riwayat pembacaan"),
        ("grafik", "Grafik saldo dan pemakaian"),
        ("jadwal", "Lihat atau atur jadwal cek"),
        ("isi", "Isi token 20 digit"),
        ("batas", "Batas peringatan saldo rendah"),
        ("ringkasan", "Ringkasan semua meter"),
        ("ekspor", "Ekspor catatan bulan ini (CSV)"),
        ("atur", "Atur kamera meter"),
        ("koreksi", "Koreksi pembacaan terakhir"),
        ("akses", "Atur siapa boleh memakai meter mana"),
        ("bantuan", "Daftar perintah"),
    ],
    "en": [
        ("check", "Check the balance now"),
        ("status", "Last reading and device states"),
        ("history", "Reading history"),
        ("chart", "Balance and usage chart"),
        ("schedule", "Show or set the check times"),
        ("topup", "Enter a 20-digit token"),
        ("threshold", "Low-balance alert threshold"),
        ("overview", "Every meter at a glance"),
        ("export", "Export this month's records (CSV)"),
        ("setup", "Aim the meter's camera"),
        ("correct", "Correct the last reading"),
        ("access", "Manage who may use which meter"),
        ("help", "List the commands"),
    ],
}
"""What ``set_my_commands`` shows in the client's menu."""
