/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-provider.h: one LLM server, OpenAI-compatible or Ollama native. */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "rill-types.h"

G_BEGIN_DECLS

/* The most a list of models may hold. */
#define RILL_MAX_MODELS_BYTES (4 * 1024 * 1024)

#define RILL_TYPE_PROVIDER (rill_provider_get_type ())
G_DECLARE_FINAL_TYPE (RillProvider, rill_provider, RILL, PROVIDER, GObject)

/* @base_url: for OpenAI-compatible servers the API root, such as
 * https://api.openai.com/v1; for Ollama the host, such as
 * http://127.0.0.1:11434 (a bare host:port is accepted). */
RillProvider     *rill_provider_new                 (RillProviderKind     kind,
                                                     const char          *base_url,
                                                     const char          *api_key);
/* OPENAI_BASE_URL (and OPENAI_API_KEY), else OLLAMA_HOST; NULL when
 * neither is set. OPENAI_API_KEY alone means api.openai.com. */
RillProvider     *rill_provider_new_from_environment (void);
/* The server one variable names: "OPENAI_BASE_URL" (with OPENAI_API_KEY),
 * "OLLAMA_HOST" (no key: OPENAI_API_KEY is never sent to it), or
 * "OPENAI_API_KEY" (api.openai.com, only while OPENAI_BASE_URL is unset);
 * NULL when it is not set. */
RillProvider     *rill_provider_new_from_environment_variable (const char *variable);
/* The environment, else a local server answering on its usual port
 * (Ollama 11434, llama-server 8080, LM Studio 1234); RILL_ERROR_NO_SERVER
 * when there is none. */
void              rill_provider_discover_async      (GCancellable        *cancellable,
                                                     GAsyncReadyCallback  callback,
                                                     gpointer             user_data);
RillProvider     *rill_provider_discover_finish     (GAsyncResult        *result,
                                                     GError             **error);

RillProviderKind  rill_provider_get_kind            (RillProvider        *self);
const char       *rill_provider_get_base_url        (RillProvider        *self);
/* The address without user info (http://user:password@host shows as
 * http://host): what may be stored or shown. */
const char       *rill_provider_get_display_url     (RillProvider        *self);
const char       *rill_provider_get_api_key         (RillProvider        *self);
/* TRUE when the key came from the environment and must not be stored. */
gboolean          rill_provider_get_key_from_environment (RillProvider   *self);
SoupSession      *rill_provider_get_session         (RillProvider        *self);

/* Fails with a RILL_ERROR (an HTTP status, a list we cannot read or
 * larger than RILL_MAX_MODELS_BYTES, an invalid address, no answer within
 * 15 seconds) or with the network's own error. */
void              rill_provider_list_models_async   (RillProvider        *self,
                                                     GCancellable        *cancellable,
                                                     GAsyncReadyCallback  callback,
                                                     gpointer             user_data);
/* The same with a deadline of @timeout_ms for the whole lookup. */
void              rill_provider_list_models_full_async (RillProvider       *self,
                                                        guint               timeout_ms,
                                                        GCancellable       *cancellable,
                                                        GAsyncReadyCallback callback,
                                                        gpointer            user_data);
GStrv             rill_provider_list_models_finish  (RillProvider        *self,
                                                     GAsyncResult        *result,
                                                     GError             **error);

/* @temperature < 0 leaves it to the server. *@request_json receives what is
 * sent (URL, model, parameters, messages), never the key. */
SoupMessage      *rill_provider_new_chat_message    (RillProvider        *self,
                                                     const char          *model,
                                                     JsonNode            *messages,
                                                     double               temperature,
                                                     char               **request_json);

/* The same, offering @tools (RillOfferedTool of rill-toolbox.h; NULL or
 * empty: none) in the API's "tools" shape. History messages may carry
 * tool calls and results as rill-store-reply.c reads them: an assistant
 * message's "tool_calls" ({"id", "name", "arguments"}, the argument text
 * as the model sent it), and a "tool" message's "tool_call_id" and
 * "tool_name" (the function name the model called). A result's content is
 * sent cut to @tool_result_max_bytes (0: whole), at a character's
 * boundary, with a note that says so. */
SoupMessage      *rill_provider_new_chat_request    (RillProvider        *self,
                                                     const char          *model,
                                                     JsonNode            *messages,
                                                     double               temperature,
                                                     GPtrArray           *tools,
                                                     gsize                tool_result_max_bytes,
                                                     char               **request_json);

/* A request to @path under the server's address, with its key (which never
 * follows a redirect elsewhere); NULL when the address is not valid. */
SoupMessage      *rill_provider_new_request         (RillProvider        *self,
                                                     const char          *method,
                                                     const char          *path);

/* @url without its user info, if it has any. */
char             *rill_url_without_user_info        (const char          *url);

/* "HTTP 401 Unauthorized: Incorrect API key…", from a status and a body;
 * a reason phrase that is not UTF-8 is made so. */
char             *rill_provider_describe_http_error (guint                status,
                                                     const char          *reason,
                                                     const char          *body,
                                                     gsize                body_len);

G_END_DECLS
