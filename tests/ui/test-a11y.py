#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# test-a11y.py APP SEED: the real app as a screen reader sees it.
#
# Run by run-a11y.sh, which gives it a private D-Bus session bus, the
# accessibility bus and an X display. It fills a history with SEED, starts
# APP on it, opens a conversation through the Shell search provider, and
# walks the accessibility tree (AT-SPI, through libatspi) of the main
# window, the preferences and each dialog: every control must have a name
# that says what it does (not empty, not a widget's type name), the named
# controls the issue lists must be there, and each message must say who
# wrote it, its model and its status. TAP on stdout.

import http.server
import json
import os
import subprocess
import sys
import threading
import time

import gi

gi.require_version('Atspi', '2.0')
from gi.repository import Atspi, Gio, GLib  # noqa: E402

APP_ID = 'io.github.rill.Rill'
APP_PATH = '/io/github/rill/Rill'
TIMEOUT = 20

CONTROLS = {
    Atspi.Role.PUSH_BUTTON, Atspi.Role.TOGGLE_BUTTON, Atspi.Role.CHECK_BOX,
    Atspi.Role.RADIO_BUTTON, Atspi.Role.COMBO_BOX, Atspi.Role.ENTRY,
    Atspi.Role.TEXT, Atspi.Role.PASSWORD_TEXT, Atspi.Role.SPIN_BUTTON,
    Atspi.Role.SLIDER, Atspi.Role.LINK, Atspi.Role.MENU_ITEM,
}

n_test = 0
failed = False


def ok(passed, what, details=()):
    global n_test, failed
    n_test += 1
    print('%s %d %s' % ('ok' if passed else 'not ok', n_test, what))
    for line in details:
        print('# ' + line)
    if not passed:
        failed = True
    sys.stdout.flush()


def wait_for(what, condition):
    end = time.monotonic() + TIMEOUT
    while time.monotonic() < end:
        result = condition()
        if result:
            return result
        time.sleep(0.1)
    print('Bail out! timed out waiting for ' + what)
    sys.exit(1)


def children(node):
    for i in range(node.get_child_count()):
        child = node.get_child_at_index(i)
        if child is not None:
            yield child


def walk(node):
    yield node
    for child in children(node):
        yield from walk(child)


def unnamed(name):
    # GTK 4.8 falls back to a widget's type name where it has no better one,
    # and says a text button's label twice ("_Retry Retry").
    if not name or not name.strip() or name.startswith(('Gtk', 'Adw', 'Rill')):
        return True
    words = name.replace('_', '').split()
    half = len(words) // 2
    return len(words) % 2 == 0 and half > 0 and words[:half] == words[half:]


def controls(root):
    found = []
    for node in walk(root):
        try:
            role = node.get_role()
        except GLib.Error:
            continue
        if role in CONTROLS:
            found.append(node)
    return found


def describe(node):
    return '%s %r (%s)' % (node.get_role_name(), node.get_name(), node.get_description())


def find_app(name):
    desktop = Atspi.get_desktop(0)
    for app in children(desktop):
        if app.get_name() == name:
            return app
    return None


def window_named(app, name):
    for window in children(app):
        if window.get_name() == name:
            return window
    return None


def windows(app):
    return [w.get_name() for w in children(app)]


def check_named(where, root):
    bad = [describe(n) for n in controls(root) if unnamed(n.get_name())]
    ok(not bad, '%s: every control has a name (%d controls)' % (where, len(controls(root))), bad)


def n_actions(node):
    try:
        return node.get_n_actions()
    except GLib.Error:
        return 0


def press(root, name):
    # A menu button is two nodes of one name; the inner one acts.
    control = wait_for('a control named ' + name,
                       lambda: next((n for n in controls(root)
                                     if n.get_name() == name and n_actions(n) > 0), None))
    control.do_action(0)


def menu_item(root, menu, item):
    # The items of a menu are the menu button's popover's; a screen reader
    # opens it with the button's action and picks one by its name.
    press(root, menu)
    target = wait_for('the menu item ' + item,
                      lambda: next((n for n in walk(root)
                                    if n.get_role() == Atspi.Role.MENU_ITEM
                                    and n.get_name().replace('_', '') == item), None))
    target.do_action(0)


def activate(bus, path, action):
    bus.call_sync(APP_ID, path, 'org.gtk.Actions', 'Activate',
                  GLib.Variant('(sava{sv})', (action, [], {})),
                  None, Gio.DBusCallFlags.NONE, -1, None)


class ModelsHandler(http.server.BaseHTTPRequestHandler):
    # A server with one model, so the model picker is there; nothing else.
    def do_GET(self):
        body = json.dumps({'object': 'list', 'data': [{'id': 'test-model'}]}).encode()
        self.send_response(200 if self.path.endswith('/models') else 404)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    app_path, seed = sys.argv[1], sys.argv[2]
    data_home = os.environ['XDG_DATA_HOME']
    db = os.path.join(data_home, 'rill', 'history.db')
    os.makedirs(os.path.dirname(db), exist_ok=True)
    message_id = subprocess.run([seed, db], check=True, capture_output=True,
                                text=True).stdout.strip()

    Atspi.init()
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), ModelsHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = dict(os.environ)
    env['OPENAI_BASE_URL'] = 'http://127.0.0.1:%d/v1' % server.server_address[1]
    if 'RILL_TEST_G_DEBUG' in env:
        env['G_DEBUG'] = env['RILL_TEST_G_DEBUG']
    app_process = subprocess.Popen([app_path], env=env)
    try:
        run(app_path, message_id)
    finally:
        crashed = app_process.poll()
        app_process.terminate()
        app_process.wait(10)
    ok(crashed is None, 'the app ran without a warning or a critical',
       ['exit status %s' % crashed] if crashed is not None else [])
    print('1..%d' % n_test)
    sys.exit(1 if failed else 0)


def run(app_path, message_id):
    app_name = os.path.basename(app_path)
    app = wait_for('the app on the accessibility bus', lambda: find_app(app_name))
    main_window = wait_for('the main window', lambda: window_named(app, 'Rill')
                           or next(children(app), None))
    bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)

    # The conversation, opened as the Shell opens a search result.
    bus.call_sync(APP_ID, APP_PATH + '/SearchProvider', 'org.gnome.Shell.SearchProvider2',
                  'ActivateResult', GLib.Variant('(sasu)', (message_id, [], 0)),
                  None, Gio.DBusCallFlags.NONE, -1, None)
    wait_for('the conversation on screen',
             lambda: any(n.get_name() == 'Copy message' for n in controls(main_window)))

    wait_for('the model picker',
             lambda: any(n.get_name() == 'Choose model' for n in controls(main_window)))
    check_named('main window', main_window)
    print('# main window: ' + ', '.join(sorted({describe(n) for n in controls(main_window)})))
    names = {n.get_name() for n in controls(main_window)}
    wanted = ['Send', 'Copy message', 'Edit message', 'New conversation', 'Main menu',
              'Choose model', 'Search conversations', 'Trash', 'Previous version',
              'Next version', 'Retry', 'Copy code', 'Copy table', 'Show conversations',
              'Conversation menu']
    missing = [w for w in wanted if w not in names]
    ok(not missing, 'main window: the controls have the names that say what they do',
       ['missing: ' + ', '.join(missing)] if missing else [])

    # Each message: who wrote it (name), its model and status (description).
    messages = [n for n in walk(main_window)
                if n.get_role() == Atspi.Role.PANEL and n.get_name() in ('You', 'test-model')]
    descriptions = [(m.get_name(), m.get_description()) for m in messages]
    ok(len(messages) == 4
       and descriptions[0] == ('You', 'Your message.')
       and descriptions[1] == ('test-model', 'Reply from test-model. Complete.')
       and descriptions[3][1].startswith('Reply from test-model. Failed.')
       and 'HTTP 500' in descriptions[3][1],
       'each message says who wrote it, its model and its status',
       ['%r: %r' % d for d in descriptions])
    focusable = [m for m in messages if m.get_state_set().contains(Atspi.StateType.FOCUSABLE)]
    ok(len(focusable) == len(messages), 'each message is reachable with the keyboard')

    # Preferences.
    activate(bus, APP_PATH, 'preferences')
    prefs = wait_for('the preferences', lambda: window_named(app, 'Preferences'))
    check_named('preferences', prefs)

    # Dialogs, opened from the menus as a person with a screen reader would.
    menu_item(main_window, 'Conversation menu', 'Rename…')
    rename = wait_for('the rename dialog', lambda: window_named(app, 'Rename Conversation'))
    check_named('rename dialog', rename)
    press(rename, 'Cancel')

    menu_item(main_window, 'Main menu', 'Keyboard Shortcuts')
    shortcuts = wait_for('the shortcuts window',
                         lambda: next((w for w in children(app)
                                       if w.get_name() not in ('Rill', 'Preferences', '')
                                       and 'Rename' not in w.get_name()), None))
    print('# shortcuts window: %r' % shortcuts.get_name())
    check_named('shortcuts window', shortcuts)

    menu_item(main_window, 'Main menu', 'About Rill')
    about = wait_for('the about window', lambda: window_named(app, 'About'))
    check_named('about window', about)

    # The trash, and its confirmation.
    trash = next(n for n in controls(main_window) if n.get_name() == 'Trash')
    trash.do_action(0)
    empty = wait_for('the Empty Trash button',
                     lambda: next((n for n in controls(main_window)
                                   if n.get_name() == 'Empty Trash'), None))
    check_named('trash', main_window)
    names = {n.get_name() for n in controls(main_window)}
    ok({'Restore', 'Delete Forever', 'Empty Trash'} <= names,
       'trash: Restore, Delete Forever and Empty Trash are there')
    empty.do_action(0)
    confirm = wait_for('the confirmation', lambda: window_named(app, 'Empty Trash?'))
    check_named('empty trash confirmation', confirm)


if __name__ == '__main__':
    main()
