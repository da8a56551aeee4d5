/* Replays inputs through every fuzzer's checks: the regressions (inputs that
 * once broke something), the hand-made seed corpora, and the recorded real
 * streams in $RILL_STREAMS_DIR when it is there. Built by any compiler, so
 * the checks run in the normal test suite, not only under libFuzzer. */

#include <glib.h>

#include "fuzz-checks.h"

static guint n_inputs;

static void
replay_file (const char *path)
{
  g_autofree char *bytes = NULL;
  gsize len;
  g_autoptr(GError) error = NULL;

  if (!g_file_get_contents (path, &bytes, &len, &error))
    g_error ("%s", error->message);
  rill_fuzz_sse ((const uint8_t *) bytes, len);
  rill_fuzz_ndjson ((const uint8_t *) bytes, len);
  rill_fuzz_stream_parser ((const uint8_t *) bytes, len);
  n_inputs++;
}

static void
replay_dir (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  if (dir == NULL)
    return;
  while ((name = g_dir_read_name (dir)))
    g_ptr_array_add (names, g_build_filename (path, name, NULL));
  g_ptr_array_sort (names, (GCompareFunc) g_strcmp0);
  for (guint i = 0; i < names->len; i++)
    {
      const char *child = g_ptr_array_index (names, i);

      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        replay_dir (child);
      else if (g_file_test (child, G_FILE_TEST_IS_REGULAR))
        replay_file (child);
    }
}

static void
test_replay (gconstpointer data)
{
  const char * const *dirs = data;
  guint before = n_inputs;

  for (guint i = 0; dirs[i]; i++)
    replay_dir (dirs[i]);
  g_test_message ("%u inputs replayed", n_inputs - before);
  if (n_inputs == before)
    g_test_skip ("no inputs");
}

int
main (int argc, char **argv)
{
  g_autoptr(GPtrArray) hand = g_ptr_array_new ();
  const char *streams = g_getenv ("RILL_STREAMS_DIR");
  const char *real[] = { streams, NULL };

  g_test_init (&argc, &argv, NULL);
  for (int i = 1; i < argc; i++)
    g_ptr_array_add (hand, argv[i]);
  g_ptr_array_add (hand, NULL);
  g_test_add_data_func ("/fuzz/regressions-and-corpus", hand->pdata, test_replay);
  if (streams != NULL)
    g_test_add_data_func ("/fuzz/recorded-streams", real, test_replay);
  return g_test_run ();
}
