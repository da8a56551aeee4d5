/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-composer.h: where the person writes: the message, Send and Stop,
 * and the notice while a message is being edited. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define RILL_TYPE_COMPOSER (rill_composer_get_type ())
G_DECLARE_FINAL_TYPE (RillComposer, rill_composer, RILL, COMPOSER, AdwBin)

/* Signals: "send" (Return or the Send button) and "stop" (the Stop button),
 * no arguments. Properties: "busy" (a reply streams here: the button
 * stops it and Return sends nothing), "can-send", "editing-message-id". */
char    *rill_composer_dup_text               (RillComposer *self);
void     rill_composer_set_text               (RillComposer *self,
                                               const char   *text);
/* Shows @text for editing the message @message_id; sending replaces it. */
void     rill_composer_edit                   (RillComposer *self,
                                               gint64        message_id,
                                               const char   *text);
/* Leaves edit mode; @clear_text empties the composer too. */
void     rill_composer_cancel_edit            (RillComposer *self,
                                               gboolean      clear_text);
gint64   rill_composer_get_editing_message_id (RillComposer *self);
void     rill_composer_set_busy               (RillComposer *self,
                                               gboolean      busy);
void     rill_composer_set_can_send           (RillComposer *self,
                                               gboolean      can_send);

G_END_DECLS
