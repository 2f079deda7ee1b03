"""A news API a browser front end on another origin reads (#24): a Flask app that sends CORS
headers by hand (as Flask-CORS would), a FastAPI port with Starlette's CORSMiddleware, and two
ports that slip on headers alone: one forgets CORS, one adds a Cache-Control legacy never sent.
Their bodies and statuses are the same as legacy's; only header comparison tells them apart."""
