/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-tools-button.h: the Tools button by the composer, and its popover:
 * which MCP servers and tools the current conversation offers. */
#pragma once

#include <adwaita.h>

#include "rill-core.h"
#include "rill-session.h"

G_BEGIN_DECLS

#define RILL_TYPE_TOOLS_BUTTON (rill_tools_button_get_type ())
G_DECLARE_FINAL_TYPE (RillToolsButton, rill_tools_button, RILL, TOOLS_BUTTON, AdwBin)

/* Properties: "session"; "conversation-id" (0: a conversation not yet
 * created, whose tools are the "default-tools" setting); "tools" (the
 * choice's JSON, NULL for none, read-only); "n-offered" (how many servers
 * of mcp.json it offers, read-only).
 *
 * A switch flipped saves the choice at once into conversations.tools and
 * makes it "default-tools" for new conversations. */
RillToolsButton *rill_tools_button_new                 (void);
void             rill_tools_button_set_session         (RillToolsButton *self,
                                                        RillSession     *session);
void             rill_tools_button_set_conversation_id (RillToolsButton *self,
                                                        gint64           conversation_id);
gint64           rill_tools_button_get_conversation_id (RillToolsButton *self);
const char      *rill_tools_button_get_tools           (RillToolsButton *self);
guint            rill_tools_button_get_n_offered       (RillToolsButton *self);
void             rill_tools_button_popup               (RillToolsButton *self);
void             rill_tools_button_popdown             (RillToolsButton *self);

G_END_DECLS
