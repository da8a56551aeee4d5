/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-mcp-page-private.h: the page's editor, for the tests. */
#pragma once

#include "rill-mcp-page.h"

G_BEGIN_DECLS

/* Opens the editor on the server @name, or on a new one when NULL. */
void       _rill_mcp_page_edit        (RillMcpPage *self,
                                       const char  *name);
/* Types into the editor's fields; NULL leaves a field as it is. A @url
 * chooses a URL server, else a program. */
void       _rill_mcp_page_fill        (RillMcpPage *self,
                                       const char  *name,
                                       const char  *command,
                                       const char  *args,
                                       const char  *env,
                                       const char  *url,
                                       const char  *headers);
GtkWidget *_rill_mcp_page_get_dialog  (RillMcpPage *self);
/* Clicks the editor's Save button. */
void       _rill_mcp_page_save_dialog (RillMcpPage *self);
/* Clicks the Remove button of @name's row. */
void       _rill_mcp_page_remove      (RillMcpPage *self,
                                       const char  *name);
/* No write of mcp.json is under way. */
gboolean   _rill_mcp_page_is_saved    (RillMcpPage *self);

G_END_DECLS
