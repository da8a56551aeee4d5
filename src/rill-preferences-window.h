/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-preferences-window.h: the server, and how replies are asked for. */
#pragma once

#include <adwaita.h>

#include "rill-core.h"

G_BEGIN_DECLS

#define RILL_TYPE_PREFERENCES_WINDOW (rill_preferences_window_get_type ())
G_DECLARE_FINAL_TYPE (RillPreferencesWindow, rill_preferences_window,
                      RILL, PREFERENCES_WINDOW, AdwPreferencesWindow)

RillPreferencesWindow *rill_preferences_window_new (RillSession *session);

G_END_DECLS
