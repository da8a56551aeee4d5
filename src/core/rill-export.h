/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-export.h: a conversation as a file of its own, in Markdown (to read)
 * or JSON (for other tools: the field names and status words are the
 * store's). */
#pragma once

#include <glib.h>

#include "rill-records.h"

G_BEGIN_DECLS

/* @messages holds the conversation's RillMessage objects in order: for
 * Markdown the path shown (rill_store_list_path()), for JSON every message
 * (rill_store_list_messages()), each with its parent_id. Both return a new
 * string. */
char *rill_export_markdown (RillConversation *conversation,
                            GPtrArray        *messages);
char *rill_export_json     (RillConversation *conversation,
                            GPtrArray        *messages);
/* The same, each message with its "attachments" from @attachments (a
 * message id, as gint64 *, to a GPtrArray of RillStoredAttachment; NULL
 * for none): name, mime_type, size, sha256 and the bytes as base64. */
char *rill_export_json_with_attachments (RillConversation *conversation,
                                         GPtrArray        *messages,
                                         GHashTable       *attachments);

/* Markdown with the attachments (@attachments as for JSON; may be NULL),
 * written to @file: the images go into a folder beside it, named by
 * rill_export_markdown_folder_name(), each once, under a safe name that
 * is unique there, and are linked relatively; the other files are listed
 * by name. Exporting again replaces what the last export wrote. Blocking
 * I/O: call it in a thread. */
gboolean rill_export_markdown_to_file     (RillConversation *conversation,
                                           GPtrArray        *messages,
                                           GHashTable       *attachments,
                                           GFile            *file,
                                           GCancellable     *cancellable,
                                           GError          **error);
/* "chat.md" → "chat_files". */
char    *rill_export_markdown_folder_name (const char       *markdown_name);

G_END_DECLS
