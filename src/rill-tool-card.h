/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-tool-card.h: one tool call in the conversation, from the approval it
 * waits for to its result. */
#pragma once

#include <adwaita.h>

#include "rill-core.h"

G_BEGIN_DECLS

#define RILL_TYPE_TOOL_CARD (rill_tool_card_get_type ())
G_DECLARE_FINAL_TYPE (RillToolCard, rill_tool_card, RILL, TOOL_CARD, GtkBox)

/* A call of the run going on: the card follows @step and its buttons decide
 * it. */
RillToolCard *rill_tool_card_new_for_step   (RillToolStep *step);
/* A call stored earlier: @message is its tool row, @arguments the argument
 * text the assistant message holds for its call id (NULL when unknown),
 * @images the RillStoredAttachments of the row that are images (or NULL). */
RillToolCard *rill_tool_card_new_stored     (RillMessage  *message,
                                             const char   *arguments,
                                             GPtrArray    *images);
gint64        rill_tool_card_get_message_id (RillToolCard *self);
RillToolStep *rill_tool_card_get_step       (RillToolCard *self);
/* Whether it waits for the person; the focus then goes to Allow. */
gboolean      rill_tool_card_get_waiting    (RillToolCard *self);
void          rill_tool_card_focus_allow    (RillToolCard *self);
/* The last in the conversation offers Continue once its loop stopped;
 * signal "continue". */
void          rill_tool_card_set_is_last    (RillToolCard *self,
                                             gboolean      is_last);

G_END_DECLS
