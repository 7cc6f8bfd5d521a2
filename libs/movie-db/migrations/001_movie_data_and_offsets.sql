-- The sink's table: one row per movie, from the movies topic (title, genres) and the mean-ratings topic
-- (sum, count: absolute, so the row with the highest count is the newest). NULL title/genres: the movies
-- topic has not named the movie yet; genres '{}' is MovieLens' "(no genres listed)".
CREATE TABLE movie_data (
  movie_id     integer PRIMARY KEY CHECK (movie_id > 0),
  title        text,
  genres       text[],
  rating_sum   double precision NOT NULL DEFAULT 0,
  rating_count bigint NOT NULL DEFAULT 0 CHECK (rating_count >= 0),
  -- Stored, so the top-N index can order by it; NULL while the movie has no rating.
  mean         double precision GENERATED ALWAYS AS (CASE WHEN rating_count > 0 THEN rating_sum / rating_count END) STORED,
  updated_at   timestamptz NOT NULL DEFAULT now()
);

-- GET /api/movies?top=N&minRatings=M: walks this index from the best mean down.
CREATE INDEX movie_data_top ON movie_data (mean DESC, rating_count DESC, movie_id) WHERE rating_count > 0;
-- GET /api/movies?genre=G: genres @> ARRAY[G].
CREATE INDEX movie_data_genres ON movie_data USING gin (genres);

-- Where each consumer group stands, written in the same transaction as the rows it produced: the offset
-- of the next record to read, as Kafka commits it.
CREATE TABLE consumer_offsets (
  group_id    text NOT NULL,
  topic       text NOT NULL,
  partition   integer NOT NULL CHECK (partition >= 0),
  next_offset bigint NOT NULL CHECK (next_offset >= 0),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (group_id, topic, partition)
);

-- The processor's state in the database mode (the seed's central store): running sum and count per movie,
-- changed by adding a batch's deltas. Its own table, not movie_data's columns: it is the processor's
-- truth (deltas added once), movie_data is the sink's copy (absolute values, highest count wins), and the
-- two may live in different databases or run without each other.
CREATE TABLE movie_ratings_state (
  movie_id     integer PRIMARY KEY CHECK (movie_id > 0),
  rating_sum   double precision NOT NULL,
  rating_count bigint NOT NULL CHECK (rating_count >= 0),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
