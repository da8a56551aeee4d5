/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-message-row.h: one message of the conversation, stored or streaming. */
#pragma once

#include <gtk/gtk.h>

#include "rill-core.h"

G_BEGIN_DECLS

#define RILL_TYPE_MESSAGE_ROW (rill_message_row_get_type ())
G_DECLARE_FINAL_TYPE (RillMessageRow, rill_message_row, RILL, MESSAGE_ROW, GtkBox)

/* Signals: "edit", "regenerate", "retry" (a failed reply), "continue" (a
 * stopped or interrupted one); no arguments. "show-version" (int: -1 for
 * the previous version, 1 for the next) from the version switcher. */
RillMessageRow *rill_message_row_new              (RillRole        role);
RillMessageRow *rill_message_row_new_for_message  (RillMessage    *message);
/* A user message shown before the store gave it an id. */
void            rill_message_row_set_text         (RillMessageRow *self,
                                                   const char     *text);
/* Follows @reply until it finishes: text at most once a frame. */
void            rill_message_row_attach_reply     (RillMessageRow *self,
                                                   RillReply      *reply);
RillReply      *rill_message_row_get_reply        (RillMessageRow *self);
RillRole        rill_message_row_get_role         (RillMessageRow *self);
RillStatus      rill_message_row_get_status       (RillMessageRow *self);
gint64          rill_message_row_get_message_id   (RillMessageRow *self);
void            rill_message_row_set_message_id   (RillMessageRow *self,
                                                   gint64          message_id);
/* The text as received, exactly. */
const char     *rill_message_row_get_source       (RillMessageRow *self);
/* The last row offers to regenerate, to retry what failed and to continue
 * what was stopped or interrupted. */
void            rill_message_row_set_is_last      (RillMessageRow *self,
                                                   gboolean        is_last);

/* Which of the messages with the same parent this is (1 for the oldest),
 * and how many there are; the switcher shows when there are several. */
void            rill_message_row_set_versions     (RillMessageRow *self,
                                                   guint           version,
                                                   guint           n_versions);
guint           rill_message_row_get_version      (RillMessageRow *self);
guint           rill_message_row_get_n_versions   (RillMessageRow *self);

G_END_DECLS
