/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-window.h: the conversation window. */
#pragma once

#include <adwaita.h>

#include "rill-core.h"

G_BEGIN_DECLS

#define RILL_TYPE_WINDOW (rill_window_get_type ())
G_DECLARE_FINAL_TYPE (RillWindow, rill_window, RILL, WINDOW, AdwApplicationWindow)

RillWindow *rill_window_new               (GtkApplication *application,
                                           RillSession    *session);
/* The window's accelerators, set on @application once, in its startup, so
 * that menus and the shortcuts window show them. */
void        rill_window_install_accels    (GtkApplication *application);
/* Stops the streaming reply (kept as "stopped") and commits what waits for
 * an undo; the caller then waits for the store. */
void        rill_window_prepare_close     (RillWindow     *self);
/* @message_id: scroll to that message, or 0 for the end. */
void        rill_window_open_conversation (RillWindow     *self,
                                           gint64          conversation_id,
                                           gint64          message_id);
void        rill_window_search            (RillWindow     *self,
                                           const char     *query);

G_END_DECLS
