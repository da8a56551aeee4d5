/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-mcp-page.h: the Preferences page of MCP tool servers: the servers
 * of mcp.json (switched on or off, added, edited, removed) and the tools
 * always allowed to run without asking. */
#pragma once

#include <adwaita.h>

#include "rill-session.h"

G_BEGIN_DECLS

#define RILL_TYPE_MCP_PAGE (rill_mcp_page_get_type ())
G_DECLARE_FINAL_TYPE (RillMcpPage, rill_mcp_page, RILL, MCP_PAGE, AdwPreferencesPage)

/* Edits the configuration of the session's toolbox, and writes it to its
 * file after every change. */
RillMcpPage *rill_mcp_page_new (RillSession *session);

G_END_DECLS
