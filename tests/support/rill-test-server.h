/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-test-server.h: a real HTTP server on 127.0.0.1 for the tests.
 *
 * A SoupServer in the test process, answering each path with a script:
 * chunks sent one network write at a time, gates the test opens when it
 * wants the stream to go on, and the endings the client must survive (a
 * clean end, a reset, a close without the final chunk, silence). It runs on
 * the thread-default main context of the test, so tests wait on events, not
 * on sleeps. */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

typedef struct _RillTestServer RillTestServer;
typedef struct _RillTestScript RillTestScript;

RillTestServer *rill_test_server_new               (void);
void            rill_test_server_free              (RillTestServer *self);
/* "http://127.0.0.1:PORT" */
const char     *rill_test_server_get_url           (RillTestServer *self);
/* The server takes @script; every request to @path replays it. */
void            rill_test_server_route             (RillTestServer *self,
                                                    const char     *path,
                                                    RillTestScript *script);
/* Lets every stream waiting at gate @name go on (now or when it gets there). */
void            rill_test_server_open_gate         (RillTestServer *self,
                                                    const char     *name);
/* Body and headers of the last request to @path, or NULL. */
const char     *rill_test_server_get_request_body  (RillTestServer *self,
                                                    const char     *path);
const char     *rill_test_server_get_request_header (RillTestServer *self,
                                                     const char     *path,
                                                     const char     *header);
guint           rill_test_server_get_request_count (RillTestServer *self,
                                                    const char     *path);
/* Bytes of body written so far on @path's last response. */
gsize           rill_test_server_get_bytes_sent    (RillTestServer *self,
                                                    const char     *path);

typedef struct
{
  gint64 time_us;   /* g_get_monotonic_time () once the chunk was written */
  gsize  bytes;     /* body bytes written so far */
} RillTestTimelinePoint;

/* One point per chunk written on @path's last response. */
GArray         *rill_test_server_get_timeline      (RillTestServer *self,
                                                    const char     *path);

RillTestScript *rill_test_script_new               (guint           status,
                                                    const char     *content_type);
/* Each piece of at most @piece bytes goes out as its own chunk, in its own
 * main-loop turn (0: all of @bytes in one chunk). */
void            rill_test_script_send              (RillTestScript *self,
                                                    const char     *bytes,
                                                    gssize          len,
                                                    gsize           piece);
/* Sends @bytes @count times, each time as its own chunk, without ever
 * holding more than one copy: a flood of any size. */
void            rill_test_script_repeat            (RillTestScript *self,
                                                    const char     *bytes,
                                                    gssize          len,
                                                    guint64         count);
/* The reason phrase of the status line, as raw bytes (NULL: the usual). */
void            rill_test_script_set_reason        (RillTestScript *self,
                                                    const char     *reason);
/* Waits this long between chunks from here on (pacing, not synchronisation). */
void            rill_test_script_pace              (RillTestScript *self,
                                                    guint           interval_us);
void            rill_test_script_gate              (RillTestScript *self,
                                                    const char     *name);
/* Endings. Without one, the body is ended cleanly after the last step. */
void            rill_test_script_end               (RillTestScript *self);
void            rill_test_script_hang              (RillTestScript *self);
void            rill_test_script_reset             (RillTestScript *self);
void            rill_test_script_close             (RillTestScript *self);

/* An OpenAI-compatible stream of @tokens: role chunk, one chunk a token,
 * a finish_reason chunk, a usage chunk, and [DONE] when @with_done. */
char           *rill_test_openai_sse               (const char * const *tokens,
                                                    const char         *model,
                                                    gboolean            with_done);
/* An Ollama /api/chat NDJSON stream of @tokens ending with done: true. */
char           *rill_test_ollama_ndjson            (const char * const *tokens,
                                                    const char         *model);
/* Concatenation of @tokens. */
char           *rill_test_join_tokens              (const char * const *tokens);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RillTestServer, rill_test_server_free)

G_END_DECLS
